/* cxloop inbox: j/k/Enter through the conversation list, and canned replies inserted into the reply box.
 * Both pages work without this file (links, and a GET form that reloads the page with the template). */
(function () {
  "use strict";

  /* ---------- keyboard navigation of the list ---------- */
  var selectedHref = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("[data-inbox-list] [data-row]"));
  }

  function linkOf(row) { return row.querySelector("a"); }

  function select(index) {
    var all = rows();
    if (!all.length) { return; }
    index = Math.max(0, Math.min(all.length - 1, index));
    all.forEach(function (row, i) { row.classList.toggle("is-selected", i === index); });
    var link = linkOf(all[index]);
    selectedHref = link ? link.getAttribute("href") : null;
    if (link) { link.focus({ preventScroll: true }); }
    all[index].scrollIntoView({ block: "nearest" });
  }

  function selectedIndex() {
    return rows().findIndex(function (row) { return row.classList.contains("is-selected"); });
  }

  function isTyping(target) {
    if (!target) { return false; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) { return; }
    if (!document.querySelector("[data-inbox-list]")) { return; }
    var current = selectedIndex();
    if (event.key === "j") {
      event.preventDefault();
      select(current + 1);
    } else if (event.key === "k") {
      event.preventDefault();
      select(current <= 0 ? 0 : current - 1);
    } else if (event.key === "Enter" && current >= 0 && !event.target.closest("a, button")) {
      var link = linkOf(rows()[current]);
      if (link) { event.preventDefault(); window.location.assign(link.getAttribute("href")); }
    }
  });

  // The list is refreshed every 15 s: keep the selection on the same conversation.
  document.addEventListener("htmx:afterSwap", function () {
    if (!selectedHref) { return; }
    rows().forEach(function (row) {
      var link = linkOf(row);
      row.classList.toggle("is-selected", !!link && link.getAttribute("href") === selectedHref);
    });
  });

  /* ---------- canned replies ---------- */
  function insertAtCaret(textarea, text) {
    var start = textarea.selectionStart || 0;
    var end = textarea.selectionEnd || 0;
    var before = textarea.value.slice(0, start);
    var after = textarea.value.slice(end);
    var glue = before && !/\n$/.test(before) ? "\n" : "";
    textarea.value = before + glue + text + after;
    var caret = (before + glue + text).length;
    textarea.focus();
    textarea.setSelectionRange(caret, caret);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));  // app.js keeps it as the draft
  }

  function chooseChannel(form, channel) {
    var select = form && form.querySelector("select[name$='channel']");
    if (!select || select.value === channel) { return; }
    var option = select.querySelector("option[value='" + channel + "']");
    if (option) { select.value = channel; }
  }

  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.matches || !picker.matches("[data-canned-url]") || !picker.value) { return; }
    var textarea = document.getElementById(picker.getAttribute("data-canned-target"));
    var status = document.getElementById("canned-status");
    var url = picker.getAttribute("data-canned-url") + "?template=" + encodeURIComponent(picker.value);
    if (status) { status.textContent = "Loading the template…"; }
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) { return response.text().then(function (text) { throw new Error(text || response.status); }); }
        return response.json();
      })
      .then(function (data) {
        if (textarea) {
          insertAtCaret(textarea, data.text);
          chooseChannel(textarea.form, data.channel);
        }
        if (status) {
          status.textContent = data.warnings && data.warnings.length ? "Inserted. Check: " + data.warnings.join("; ") : "Inserted.";
        }
      })
      .catch(function () {
        if (status) { status.textContent = "The template could not be loaded."; }
      })
      .finally(function () { picker.value = ""; });
  });
})();

/* A chat conversation updates the moment the visitor writes: the agent event stream asks htmx to
 * refresh the messages section (other channels rely on its 10-second poll). */
(function () {
  "use strict";
  var section = document.querySelector("[data-agent-stream]");
  if (!section || !window.EventSource || !window.htmx) { return; }
  var source = new EventSource(section.getAttribute("data-agent-stream"));
  source.addEventListener("message", function () { window.htmx.trigger(document.body, "cx:refresh-messages"); });
  window.addEventListener("pagehide", function () { source.close(); });
})();
