// Live regions: when an event arrives (server-sent events from /live), fetch this page again and swap
// every element marked data-live for its new version. Forms sit outside them, so typing is never lost.
// Regions are aria-live="polite", so a screen reader announces what changed; the element that had the
// focus inside a region (found again by its id, link or name and value) gets it back after the swap.
(function () {
  const regions = document.querySelectorAll("[data-live]");
  if (!window.EventSource || !regions.length) return;
  regions.forEach(function (region) { region.setAttribute("aria-live", "polite"); });
  let pending = null;
  function selectorOf(element) {
    if (element.id) return "#" + CSS.escape(element.id);
    const tag = element.tagName.toLowerCase();
    const attribute = ["href", "name", "value"].filter(function (name) { return element.hasAttribute(name); });
    if (!attribute.length) return null;
    return tag + attribute.map(function (name) {
      return "[" + name + '="' + CSS.escape(element.getAttribute(name)) + '"]';
    }).join("");
  }
  async function refresh() {
    pending = null;
    const response = await fetch(window.location.href, { headers: { "Accept": "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    const focused = document.activeElement;
    document.querySelectorAll("[data-live]").forEach(function (old) {
      const replacement = fresh.getElementById(old.id);
      if (!replacement || replacement.innerHTML === old.innerHTML) return;
      const key = old.contains(focused) ? selectorOf(focused) : null;
      old.innerHTML = replacement.innerHTML;
      const again = key && old.querySelector(key);
      if (again) again.focus({ preventScroll: true });
    });
  }
  function soon() {
    if (!pending) pending = setTimeout(refresh, 150);  // a burst of events: one fetch
  }
  const events = new EventSource("/live");
  events.onmessage = soon;
  events.onopen = soon;  // what happened between loading the page and connecting (or reconnecting)
})();
