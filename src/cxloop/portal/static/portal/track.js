/*
 * cxloop website tracking snippet. A website embeds one tag on every page:
 *   <script src="https://<cxloop>/p/widget/track.js" async></script>
 * It keeps an anonymous id for the visitor (localStorage, else a first-party cookie), sends a "page.viewed" event
 * (url, path, title, referrer) when the page loads and on each history navigation of a single-page app, and
 * batches what it sends (navigator.sendBeacon when the page is hidden, fetch with keepalive otherwise).
 *
 * Once the visitor is logged in on the website, the page tells cxloop who it is, with a signature the website's
 * server made (hex HMAC-SHA256 of "email:<email>", "phone:<phone>" or "external:<network>:<id>" with
 * CXLOOP_TRACKING_SECRET); unsigned or wrongly signed claims are refused, so a visitor cannot claim someone else:
 *   window.cxloop = window.cxloop || [];
 *   cxloop.push(["identify", {email: "ann@example.com", name: "Ann"}, "<signature>"]);
 * (a plain array until the script has loaded; afterwards cxloop.identify(claims, signature) works too).
 * Also: cxloop.push(["track", "<type>", {properties}]) for the other types CXLOOP_TRACKING_EVENT_TYPES allows,
 * and cxloop.push(["page"]) to send a page view by hand.
 * Nothing here reads the page's content beyond its address and title; no third-party cookie is set.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[src*='widget/track.js']");
  if (!script || !script.src || window.__cxloopTrack) return;
  window.__cxloopTrack = true;

  var ENDPOINT = script.src.replace(/widget\/track\.js(?:[?#].*)?$/, "") + "track";
  var KEY = "cxloop_aid";
  var FLUSH_MS = 1000;
  var MAX_BATCH = 50;
  var queue = [];
  var pendingIdentify = null;
  var timer = null;
  var lastUrl = null;
  var counter = 0;

  function randomId() {
    if (window.crypto && window.crypto.getRandomValues) {
      var bytes = new Uint8Array(16);
      window.crypto.getRandomValues(bytes);
      return Array.prototype.map
        .call(bytes, function (b) {
          return ("0" + b.toString(16)).slice(-2);
        })
        .join("");
    }
    return (Date.now().toString(36) + Math.random().toString(36).slice(2) + "00000000").slice(0, 24);
  }

  function readCookie() {
    var match = document.cookie.match(/(?:^|;\s*)cxloop_aid=([A-Za-z0-9_-]{8,64})/);
    return match ? match[1] : null;
  }

  var memoryId = null;
  function anonymousId() {
    var id = null;
    try {
      id = window.localStorage.getItem(KEY);
    } catch (e) {
      id = null;
    }
    if (!id || !/^[A-Za-z0-9_-]{8,64}$/.test(id)) id = readCookie();
    if (!id) id = memoryId || randomId();
    memoryId = id;
    try {
      window.localStorage.setItem(KEY, id);
    } catch (e) {
      /* storage off: the cookie below keeps the id */
    }
    if (readCookie() !== id) {
      document.cookie = KEY + "=" + id + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
    }
    return id;
  }

  function eventId() {
    counter += 1;
    return Date.now().toString(36) + "-" + randomId().slice(0, 12) + "-" + counter;
  }

  function body(events, identify) {
    var data = { anonymous_id: anonymousId(), events: events };
    if (identify) data.identify = identify;
    return JSON.stringify(data);
  }

  function send(events, identify, beacon) {
    // text/plain: a "simple" request, so neither sendBeacon nor fetch needs a CORS preflight.
    var payload = body(events, identify);
    if (beacon && navigator.sendBeacon) {
      try {
        if (navigator.sendBeacon(ENDPOINT, new Blob([payload], { type: "text/plain" }))) return;
      } catch (e) {
        /* fall through to fetch */
      }
    }
    if (window.fetch) {
      window
        .fetch(ENDPOINT, {
          method: "POST",
          body: payload,
          headers: { "Content-Type": "text/plain" },
          keepalive: payload.length < 60000,
          credentials: "omit",
          mode: "cors",
        })
        .catch(function () {
          /* offline or refused: page views are not worth retrying forever */
        });
    }
  }

  function flush(beacon) {
    if (timer) {
      clearTimeout(timer);
      timer = null;
    }
    if (pendingIdentify) {
      // On its own: a refused claim (a bad signature is a 403) must not take page views down with it.
      var identify = pendingIdentify;
      pendingIdentify = null;
      send([], identify, beacon);
    }
    while (queue.length) send(queue.splice(0, MAX_BATCH), null, beacon);
  }

  function schedule() {
    if (queue.length >= MAX_BATCH) flush(false);
    else if (!timer) timer = setTimeout(function () { flush(false); }, FLUSH_MS);
  }

  function track(type, properties) {
    if (typeof type !== "string" || !type) return;
    queue.push({
      id: eventId(),
      type: type,
      occurred_at: new Date().toISOString(),
      properties: properties && typeof properties === "object" ? properties : {},
    });
    schedule();
  }

  function page() {
    var url = location.href;
    if (url === lastUrl) return;
    var referrer = lastUrl || document.referrer || "";
    lastUrl = url;
    track("page.viewed", {
      url: url.slice(0, 2048),
      path: location.pathname.slice(0, 2048),
      title: (document.title || "").slice(0, 500),
      referrer: referrer.slice(0, 2048),
    });
  }

  function identify(claims, signature) {
    if (!claims || typeof claims !== "object" || typeof signature !== "string") return;
    var claim = { signature: signature };
    ["email", "phone", "external_id", "network", "name"].forEach(function (field) {
      if (typeof claims[field] === "string" && claims[field]) claim[field] = claims[field];
    });
    pendingIdentify = claim;
    flush(false); // at once: the page views that follow belong to the identified customer
  }

  var api = {
    identify: identify,
    track: track,
    page: page,
    flush: function () { flush(false); },
    anonymousId: anonymousId,
    push: function (call) {
      if (!call || !call.length || typeof api[call[0]] !== "function" || call[0] === "push") return;
      api[call[0]].apply(null, Array.prototype.slice.call(call, 1));
    },
  };
  var earlier = Array.isArray(window.cxloop) ? window.cxloop : [];
  window.cxloop = api;
  for (var i = 0; i < earlier.length; i++) api.push(earlier[i]);

  // Single-page apps: a pushState/replaceState or a back/forward navigation is a page view too.
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    if (typeof original !== "function") return;
    history[name] = function () {
      var result = original.apply(this, arguments);
      setTimeout(page, 0); // after the app has set the new title
      return result;
    };
  });
  window.addEventListener("popstate", function () { setTimeout(page, 0); });
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") flush(true);
  });
  window.addEventListener("pagehide", function () { flush(true); });

  page();
})();
