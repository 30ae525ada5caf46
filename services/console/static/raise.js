// The request form's Idempotency-Key, kept for the same content: the server renders a fresh key with every
// page, and the browser restores typed fields (Back, reload) but not that key. So the tab remembers each
// content it sent with its key (sessionStorage, the last 20); sending a content sent before reuses its key,
// and the requests service answers with the request already made instead of making a second one.
(function () {
  const form = document.querySelector("form[data-idempotent]");
  if (!form || !window.sessionStorage) return;
  const memory = "mutualaid:raised";
  form.addEventListener("submit", function () {
    const field = form.elements.namedItem("idempotency_key");
    const content = JSON.stringify(
      Array.from(new FormData(form).entries()).filter(function (entry) { return entry[0] !== "idempotency_key"; })
    );
    let sent = [];
    try { sent = JSON.parse(sessionStorage.getItem(memory) || "[]"); } catch (error) { sent = []; }
    if (!Array.isArray(sent)) sent = [];
    const before = sent.find(function (entry) { return entry.content === content; });
    if (before) { field.value = before.key; return; }
    sent.push({ content: content, key: field.value });
    sessionStorage.setItem(memory, JSON.stringify(sent.slice(-20)));
  });
})();
