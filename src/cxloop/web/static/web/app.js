/* cxloop staff UI behaviour: the type-ahead search, drafts that survive a reload, confirmations,
 * copy buttons and error toasts. Every page works without this file; it only makes them nicer. */
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  /* ---------- global type-ahead search ---------- */
  function searchInput() { return document.getElementById("global-search"); }
  function searchBox() { return document.getElementById("search-results"); }
  function options() { return Array.prototype.slice.call(searchBox().querySelectorAll(".search-option")); }

  function setActive(index) {
    var input = searchInput();
    var items = options();
    items.forEach(function (item, i) {
      var active = i === index;
      item.classList.toggle("is-active", active);
      item.setAttribute("aria-selected", active ? "true" : "false");
    });
    if (index >= 0 && items[index]) {
      input.setAttribute("aria-activedescendant", items[index].id);
      items[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function activeIndex() {
    return options().findIndex(function (item) { return item.classList.contains("is-active"); });
  }

  function closeResults() {
    var box = searchBox();
    if (!box) { return; }
    box.innerHTML = "";
    searchInput().setAttribute("aria-expanded", "false");
    searchInput().removeAttribute("aria-activedescendant");
  }

  function isTyping(target) {
    if (!target) { return false; }
    var tag = target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    var input = searchInput();
    if (!input) { return; }
    if (event.key === "/" && !isTyping(event.target) && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      input.focus();
      input.select();
      return;
    }
    if (event.target !== input) { return; }
    var items = options();
    if (event.key === "ArrowDown" && items.length) {
      event.preventDefault();
      setActive((activeIndex() + 1) % items.length);
    } else if (event.key === "ArrowUp" && items.length) {
      event.preventDefault();
      var current = activeIndex();
      setActive(current <= 0 ? items.length - 1 : current - 1);
    } else if (event.key === "Enter") {
      var chosen = items[activeIndex()] || (items.length === 1 ? items[0] : null);
      if (chosen) {
        event.preventDefault();
        window.location.assign(chosen.getAttribute("href"));
      }
    } else if (event.key === "Escape") {
      closeResults();
    }
  });

  document.addEventListener("click", function (event) {
    var form = document.querySelector("[data-typeahead]");
    if (form && !form.contains(event.target)) { closeResults(); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var box = searchBox();
    if (box && event.detail.target === box) {
      searchInput().setAttribute("aria-expanded", options().length ? "true" : "false");
      setActive(-1);
    }
  });

  /* ---------- drafts: typed text survives a reload until it is submitted ---------- */
  function storage() {
    try { return window.localStorage; } catch (e) { return null; }
  }

  function draftStatus(textarea, text) {
    var form = textarea.form;
    var status = form && form.querySelector("[data-draft-status]");
    if (status) { status.textContent = text; }
  }

  function initDrafts(root) {
    var store = storage();
    if (!store) { return; }
    var areas = root.querySelectorAll ? root.querySelectorAll("textarea[data-draft], input[data-draft]") : [];
    Array.prototype.forEach.call(areas, function (textarea) {
      var key = textarea.getAttribute("data-draft");
      if (textarea.hasAttribute("data-draft-clear")) {
        store.removeItem(key);
        textarea.removeAttribute("data-draft-clear");
      } else if (!textarea.value || textarea.hasAttribute("data-draft-override")) {
        /* data-draft-override: the box starts from stored content (a template's current version), and an
         * unsaved edit of it wins over that starting point until it is saved. */
        var saved = store.getItem(key);
        if (saved && saved !== textarea.value) {
          textarea.value = saved;
          draftStatus(textarea, "Draft restored");
        }
      }
      if (textarea.dataset.draftBound) { return; }
      textarea.dataset.draftBound = "1";
      textarea.addEventListener("input", function () {
        if (textarea.value) {
          store.setItem(key, textarea.value);
          draftStatus(textarea, "Draft saved");
        } else {
          store.removeItem(key);
          draftStatus(textarea, "");
        }
      });
    });
  }

  /* ---------- confirmations before destructive submits (with or without htmx) ---------- */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  /* ---------- copy buttons ---------- */
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) { return; }
    var done = function () {
      button.textContent = "Copied";
      window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.value).then(done, function () { source.select(); });
    } else {
      source.select();
      try { document.execCommand("copy"); done(); } catch (e) { /* the text stays selected to copy by hand */ }
    }
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-select-on-focus")) { event.target.select(); }
  });

  /* ---------- errors of htmx requests ---------- */
  var toastTimer = null;
  function toast(text) {
    var box = document.getElementById("toast");
    if (!box) { return; }
    box.textContent = text;
    box.hidden = false;
    window.clearTimeout(toastTimer);
    toastTimer = window.setTimeout(function () { box.hidden = true; }, 7000);
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var type = xhr.getResponseHeader("Content-Type") || "";
    var text = type.indexOf("text/plain") === 0 && xhr.responseText ? xhr.responseText : "That did not work (" + xhr.status + ").";
    toast(text);
  });
  document.addEventListener("htmx:sendError", function () { toast("cxloop cannot be reached. Check the connection and try again."); });

  /* ---------- start ---------- */
  document.addEventListener("htmx:load", function (event) { initDrafts(event.detail.elt); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initDrafts(document); });
  } else {
    initDrafts(document);
  }
})();
