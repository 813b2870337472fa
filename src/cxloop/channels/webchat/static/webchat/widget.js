/*
 * cxloop web chat widget. Embed with one tag:
 *   <script src="https://<cxloop>/chat/widget.js" data-cxloop-chat async></script>
 * Optional attributes: data-title="Chat with us", data-greeting="Hi! How can we help?".
 *
 * Plain JavaScript, no dependencies. Everything lives in an (open) shadow root, so the page's CSS cannot
 * reach it and it cannot reach the page. The conversation is kept in localStorage, so a reload continues
 * it. New messages arrive through Server-Sent Events; when EventSource is missing or keeps failing, the
 * widget polls instead. docs/channels/webchat.md describes the API it talks to.
 */
(function () {
  "use strict";
  if (window.__cxloopChat) return;
  var script = document.currentScript || document.querySelector("script[data-cxloop-chat]");
  if (!script || !script.src) return;
  window.__cxloopChat = true;

  var API = script.src.replace(/widget\.js(?:[?#].*)?$/, "") + "api/";
  var TITLE = script.getAttribute("data-title") || "Chat with us";
  var GREETING = script.getAttribute("data-greeting") || "Hi! How can we help you today?";
  var STORE = "cxloop-chat:" + API;
  var POLL_MS = 3000;
  var STREAM_FAILURES_BEFORE_POLLING = 3;

  var CSS = [
    ":host{all:initial}",
    "*{box-sizing:border-box}",
    ".root{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;color:#0f172a}",
    "button,input,textarea{font:inherit;color:inherit}",
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:999px;",
    "padding:12px 20px;background:#1d4ed8;color:#fff;font-weight:600;cursor:pointer;",
    "box-shadow:0 4px 14px rgba(15,23,42,.3)}",
    ".launcher:hover{background:#1e40af}",
    ":focus-visible{outline:3px solid #f59e0b;outline-offset:2px}",
    ".panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:370px;height:560px;",
    "max-height:calc(100vh - 40px);display:flex;flex-direction:column;background:#fff;",
    "border-radius:12px;box-shadow:0 10px 40px rgba(15,23,42,.35);overflow:hidden}",
    ".panel[hidden],.launcher[hidden],form[hidden],.toggle[hidden]{display:none}",
    "header{display:flex;align-items:center;justify-content:space-between;padding:12px 16px;",
    "background:#1d4ed8;color:#fff}",
    "h2{margin:0;font-size:17px;font-weight:600}",
    ".close{border:0;background:transparent;color:#fff;font-size:26px;line-height:1;width:44px;",
    "height:44px;cursor:pointer;border-radius:8px}",
    ".log{flex:1;overflow-y:auto;padding:12px 16px;display:flex;flex-direction:column;gap:8px}",
    ".msg{max-width:85%;padding:8px 12px;border-radius:12px;white-space:pre-wrap;overflow-wrap:anywhere}",
    ".msg .who{display:block;font-size:12px;font-weight:600;color:#334155}",
    ".visitor{align-self:flex-end;background:#dbeafe}",
    ".agent{align-self:flex-start;background:#f1f5f9}",
    ".system{align-self:center;background:#fef9c3;font-size:14px}",
    ".status{margin:0;padding:0 16px;min-height:1.2em;font-size:13px;color:#475569}",
    ".toggle{margin:4px 16px;border:0;background:none;color:#1d4ed8;text-decoration:underline;",
    "cursor:pointer;padding:6px 0;text-align:left}",
    ".contact{padding:8px 16px;border-top:1px solid #e2e8f0;display:grid;gap:4px}",
    ".contact label{font-size:13px;font-weight:600}",
    ".contact input{width:100%;padding:8px;border:1px solid #64748b;border-radius:6px}",
    ".contact input[aria-invalid=true]{border-color:#b91c1c}",
    ".error{color:#b91c1c;font-size:13px;min-height:0}",
    ".compose{display:flex;gap:8px;padding:12px 16px;border-top:1px solid #e2e8f0}",
    ".compose textarea{flex:1;resize:none;padding:8px;border:1px solid #64748b;border-radius:6px;min-height:44px}",
    ".primary{border:0;border-radius:6px;padding:0 16px;min-height:44px;background:#1d4ed8;color:#fff;",
    "font-weight:600;cursor:pointer}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}",
    "@media (max-width:480px){.panel{inset:0;right:0;bottom:0;width:100%;height:100%;max-height:none;",
    "border-radius:0}.launcher{right:12px;bottom:12px}}",
  ].join("");

  var HTML =
    '<div class="root">' +
    '<button class="launcher" type="button" aria-expanded="false" aria-controls="cx-panel"></button>' +
    '<div class="panel" id="cx-panel" role="dialog" aria-modal="true" aria-labelledby="cx-title" hidden>' +
    '<header><h2 id="cx-title"></h2>' +
    '<button class="close" type="button" aria-label="Close chat">&times;</button></header>' +
    '<div class="log" role="log" aria-live="polite" aria-label="Conversation" tabindex="0"></div>' +
    '<p class="status" role="status"></p>' +
    '<button class="toggle" type="button" aria-expanded="false" aria-controls="cx-contact">' +
    "Leave your email so we can reply later</button>" +
    '<form class="contact" id="cx-contact" novalidate hidden>' +
    '<label for="cx-name">Name (optional)</label><input id="cx-name" name="name" autocomplete="name">' +
    '<span class="error" id="cx-name-error"></span>' +
    '<label for="cx-email">Email</label>' +
    '<input id="cx-email" name="email" type="email" autocomplete="email" aria-describedby="cx-email-error">' +
    '<span class="error" id="cx-email-error"></span>' +
    '<label for="cx-phone">Or phone</label>' +
    '<input id="cx-phone" name="phone" type="tel" autocomplete="tel" aria-describedby="cx-phone-error">' +
    '<span class="error" id="cx-phone-error"></span>' +
    '<button class="primary" type="submit">Save my details</button></form>' +
    '<form class="compose" novalidate><label class="sr" for="cx-text">Your message</label>' +
    '<textarea id="cx-text" name="text" rows="2" maxlength="4000"></textarea>' +
    '<button class="primary" type="submit">Send</button></form>' +
    "</div></div>";

  // --- state kept across reloads -------------------------------------------------------------------
  function load() {
    try {
      return JSON.parse(window.localStorage.getItem(STORE) || "null");
    } catch (e) {
      return null;
    }
  }
  function save() {
    try {
      if (state) window.localStorage.setItem(STORE, JSON.stringify(state));
      else window.localStorage.removeItem(STORE);
    } catch (e) {
      /* storage off: the chat still works until the page is left */
    }
  }
  var state = load(); // {id, token, key, streaming, last, identified}
  var seen = {};
  var unread = 0;
  var source = null;
  var pollTimer = null;
  var streamFailures = 0;

  // --- DOM ----------------------------------------------------------------------------------------
  var host = document.createElement("aside");
  host.setAttribute("aria-label", "Chat");
  host.id = "cxloop-chat";
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = "<style>" + CSS + "</style>" + HTML;
  function $(selector) {
    return root.querySelector(selector);
  }
  var launcher = $(".launcher");
  var panel = $(".panel");
  var log = $(".log");
  var statusLine = $(".status");
  var toggle = $(".toggle");
  var contact = $(".contact");
  var compose = $(".compose");
  var textarea = $("#cx-text");
  $("#cx-title").textContent = TITLE;

  function setLauncher() {
    launcher.textContent = unread ? TITLE + " (" + unread + " new)" : TITLE;
  }
  function say(text) {
    statusLine.textContent = text || "";
  }

  function addLine(direction, text, seq) {
    if (seq && seen[seq]) return;
    if (seq) seen[seq] = true;
    var line = document.createElement("div");
    line.className = "msg " + direction;
    var who = { visitor: "You", agent: "Agent", system: "" }[direction];
    if (who) {
      var label = document.createElement("span");
      label.className = "who";
      label.textContent = who;
      line.appendChild(label);
    }
    line.appendChild(document.createTextNode(text));
    log.appendChild(line);
    log.scrollTop = log.scrollHeight;
  }

  function take(messages) {
    messages.forEach(function (m) {
      if (seen[m.seq]) return;
      addLine(m.direction, m.text, m.seq);
      var fresh = state && m.seq > (state.last || 0);
      if (fresh) state.last = m.seq;
      if (fresh && panel.hidden && m.direction !== "visitor") unread += 1;
    });
    if (messages.length) save();
    setLauncher();
  }

  // --- talking to cxloop --------------------------------------------------------------------------
  function request(method, path, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state && state.token) headers.Authorization = "Bearer " + state.token;
    return fetch(API + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      mode: "cors",
    }).then(function (response) {
      return response.json().then(
        function (data) {
          return { status: response.status, data: data };
        },
        function () {
          return { status: response.status, data: {} };
        },
      );
    });
  }

  function forget() {
    stopUpdates();
    state = null;
    save();
  }

  function ensureSession() {
    if (state) return Promise.resolve(state);
    return request("POST", "sessions", {}).then(function (r) {
      if (r.status !== 201) throw r;
      state = { id: r.data.id, token: r.data.token, key: r.data.stream_key, streaming: r.data.streaming, last: 0 };
      save();
      startUpdates();
      return state;
    });
  }

  function lost(status) {
    return status === 401 || status === 403 || status === 404 || status === 409;
  }

  function problem(r, fallback) {
    if (r && r.status === 429) return "Too many messages at once; please wait a moment.";
    if (r && r.data && r.data.error) return r.data.error.message;
    return fallback;
  }

  // --- receiving: Server-Sent Events, or polling when they are not available ----------------------
  function poll() {
    if (!state) return;
    request("GET", "sessions/" + state.id + "/messages?after=" + (state.last || 0)).then(function (r) {
      if (r.status === 200) take(r.data.messages || []);
      else if (lost(r.status)) forget();
    }, function () {});
  }

  function startPolling() {
    if (pollTimer) return;
    poll();
    pollTimer = window.setInterval(poll, POLL_MS);
  }

  function startUpdates() {
    if (!state) return;
    if (!window.EventSource || state.streaming === false) {
      startPolling();
      return;
    }
    var url = API + "sessions/" + state.id + "/stream?key=" + encodeURIComponent(state.key) +
      "&after=" + (state.last || 0);
    source = new EventSource(url);
    source.addEventListener("open", function () {
      streamFailures = 0;
    });
    source.addEventListener("message", function (event) {
      try {
        take([JSON.parse(event.data)]);
      } catch (e) {
        /* a malformed event is skipped */
      }
    });
    source.addEventListener("error", function () {
      // The server ends each stream after ~25 s and the browser reconnects by itself; only repeated
      // failures (or a refused stream, which EventSource does not retry) switch to polling.
      streamFailures += 1;
      if (source.readyState === EventSource.CLOSED || streamFailures >= STREAM_FAILURES_BEFORE_POLLING) {
        source.close();
        source = null;
        startPolling();
      }
    });
  }

  function stopUpdates() {
    if (source) source.close();
    source = null;
    if (pollTimer) window.clearInterval(pollTimer);
    pollTimer = null;
  }

  function resume() {
    if (!state) return;
    request("GET", "sessions/" + state.id + "/messages?after=0").then(function (r) {
      if (r.status === 200) {
        take(r.data.messages || []);
        startUpdates();
      } else if (lost(r.status)) {
        forget();
      }
    }, function () {
      startUpdates();
    });
  }

  // --- sending -------------------------------------------------------------------------------------
  function newId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function send(text, clientId, retried) {
    return ensureSession()
      .then(function () {
        return request("POST", "sessions/" + state.id + "/messages", { text: text, client_id: clientId });
      })
      .then(function (r) {
        if (r.status === 201) {
          take([r.data.message]);
          return;
        }
        if (lost(r.status) && !retried) {
          forget();
          return send(text, clientId, true);
        }
        throw r;
      });
  }

  compose.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = textarea.value.trim();
    if (!text) {
      say("Type a message first.");
      textarea.focus();
      return;
    }
    say("Sending…");
    send(text, newId(), false).then(
      function () {
        textarea.value = "";
        say("");
      },
      function (r) {
        say(problem(r, "Your message could not be sent; please try again."));
      },
    );
  });

  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      compose.requestSubmit ? compose.requestSubmit() : compose.dispatchEvent(new Event("submit"));
    }
  });

  // --- "leave your email so we can reply later" --------------------------------------------------
  function showContact(open) {
    contact.hidden = !open;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) $("#cx-email").focus();
  }
  toggle.addEventListener("click", function () {
    showContact(contact.hidden);
  });

  function fieldError(name, text) {
    var input = $("#cx-" + name);
    $("#cx-" + name + "-error").textContent = text || "";
    if (text) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }

  contact.addEventListener("submit", function (event) {
    event.preventDefault();
    var details = { name: $("#cx-name").value, email: $("#cx-email").value, phone: $("#cx-phone").value };
    ["name", "email", "phone"].forEach(function (name) {
      fieldError(name, "");
    });
    say("Saving…");
    ensureSession()
      .then(function () {
        return request("POST", "sessions/" + state.id + "/identify", details);
      })
      .then(function (r) {
        if (r.status === 200) {
          take([r.data.message]);
          state.identified = true;
          save();
          showContact(false);
          toggle.hidden = true;
          say("");
          textarea.focus();
          return;
        }
        var fields = (r.data && r.data.error && r.data.error.fields) || {};
        var first = null;
        Object.keys(fields).forEach(function (name) {
          if ($("#cx-" + name)) {
            fieldError(name, fields[name]);
            first = first || name;
          }
        });
        say(problem(r, "Your details could not be saved."));
        if (first) $("#cx-" + first).focus();
      })
      .catch(function (r) {
        say(problem(r, "Your details could not be saved; please try again."));
      });
  });

  // --- opening, closing, keyboard -----------------------------------------------------------------
  function focusable() {
    return Array.prototype.filter.call(
      panel.querySelectorAll("button, input, textarea, [tabindex]:not([tabindex='-1'])"),
      function (el) {
        return !el.disabled && el.getClientRects().length > 0;
      },
    );
  }

  function open() {
    panel.hidden = false;
    launcher.hidden = true;
    launcher.setAttribute("aria-expanded", "true");
    unread = 0;
    setLauncher();
    log.scrollTop = log.scrollHeight;
    textarea.focus();
  }

  function close() {
    panel.hidden = true;
    launcher.hidden = false;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", open);
  $(".close").addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      close();
      return;
    }
    if (event.key !== "Tab") return;
    var items = focusable();
    if (!items.length) return;
    var first = items[0];
    var last = items[items.length - 1];
    var active = root.activeElement;
    if (event.shiftKey && (active === first || items.indexOf(active) < 0)) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && (active === last || items.indexOf(active) < 0)) {
      event.preventDefault();
      first.focus();
    }
  });

  // --- start --------------------------------------------------------------------------------------
  addLine("agent", GREETING, 0);
  if (state && state.identified) toggle.hidden = true;
  setLauncher();
  function mount() {
    document.body.appendChild(host);
    resume();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
