// The request form's map: a click sets the coordinates with the inverse of services/console/geo.py's
// projection (its numbers read from the map's data- attributes), picking a headquarters sets them too,
// and the marker follows what the fields say. Changing the capability shows its default composition,
// unless the operator has changed the one shown.
(function () {
  const map = document.getElementById("picker");
  if (!map) return;
  const field = function (id) { return document.getElementById(id); };
  const lat = field("lat"), lon = field("lon"), place = field("place"), hq = field("hq"), marker = field("marker");
  const p = { north: +map.dataset.north, west: +map.dataset.west, scale: +map.dataset.scale, shrink: +map.dataset.shrink };

  function mark() {
    const la = parseFloat(lat.value), lo = parseFloat(lon.value);
    const known = !isNaN(la) && !isNaN(lo);
    marker.setAttribute("cx", known ? (lo - p.west) * p.shrink * p.scale : -100);
    marker.setAttribute("cy", known ? (p.north - la) * p.scale : -100);
  }
  function typed() {
    hq.value = "";
    if (place.dataset.fromHq && place.value === place.dataset.fromHq) place.value = "";
    mark();
  }
  map.classList.add("target");
  map.addEventListener("click", function (event) {
    const at = new DOMPoint(event.clientX, event.clientY).matrixTransform(map.getScreenCTM().inverse());
    lat.value = (p.north - at.y / p.scale).toFixed(4);
    lon.value = (p.west + at.x / (p.shrink * p.scale)).toFixed(4);
    typed();
  });
  lat.addEventListener("input", typed);
  lon.addEventListener("input", typed);
  hq.addEventListener("change", function () {
    const chosen = hq.selectedOptions[0];
    if (!chosen.value) return;
    lat.value = chosen.dataset.lat;
    lon.value = chosen.dataset.lon;
    place.value = place.dataset.fromHq = chosen.dataset.town;
    mark();
  });

  const capability = field("capability"), composition = field("composition"), shownFor = field("composition_of");
  const defaults = JSON.parse(capability.dataset.defaults || "{}");
  capability.addEventListener("change", function () {
    if (composition.value.trim() !== (defaults[shownFor.value] || "").trim()) return;  // the operator's own
    composition.value = defaults[capability.value] || "";
    shownFor.value = capability.value;
  });
})();
