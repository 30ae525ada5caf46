// Live regions: when an event arrives (server-sent events from /live), fetch this page again and swap
// every element marked data-live for its new version. Forms sit outside them, so typing is never lost.
(function () {
  if (!window.EventSource || !document.querySelector("[data-live]")) return;
  let pending = null;
  async function refresh() {
    pending = null;
    const response = await fetch(window.location.href, { headers: { "Accept": "text/html" } });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll("[data-live]").forEach(function (old) {
      const replacement = fresh.getElementById(old.id);
      if (replacement && replacement.innerHTML !== old.innerHTML) old.innerHTML = replacement.innerHTML;
    });
  }
  function soon() {
    if (!pending) pending = setTimeout(refresh, 150);  // a burst of events: one fetch
  }
  const events = new EventSource("/live");
  events.onmessage = soon;
  events.onopen = soon;  // what happened between loading the page and connecting (or reconnecting)
})();
