// The request form's Idempotency-Key, kept for the same content: the server renders a fresh key with every
// page, and the browser restores typed fields (Back, reload) but not that key. So the tab remembers the last
// content it sent and its key (sessionStorage); sending that same content again reuses the key, and the
// requests service answers with the request already made instead of making a second one.
(function () {
  const form = document.querySelector("form[data-idempotent]");
  if (!form || !window.sessionStorage) return;
  const memory = "mutualaid:last-raised";
  form.addEventListener("submit", function () {
    const field = form.elements.namedItem("idempotency_key");
    const content = JSON.stringify(
      Array.from(new FormData(form).entries()).filter(function (entry) { return entry[0] !== "idempotency_key"; })
    );
    let last = null;
    try { last = JSON.parse(sessionStorage.getItem(memory) || "null"); } catch (error) { last = null; }
    if (last && last.content === content) field.value = last.key;
    else sessionStorage.setItem(memory, JSON.stringify({ content: content, key: field.value }));
  });
})();
