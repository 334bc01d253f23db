/*
 * Heatmaps web tracker (CONTRACT 3.3). Dependency-free; embed with
 *   <script src="https://HOST/tracker.js" data-key="INGEST_TOKEN" defer></script>
 * Optional data-endpoint="https://api.example" overrides the API base URL (default: this script's origin).
 * Optional data-record="on" records sessions (CONTRACT 13): a share of them with data-record-sample="0.25"
 * (all by default), drawn once per session; a recorded session's pages load /tracker-record.js from this
 * script's origin, which reads window.__heatmaps.recording and masks all text (see tracker/record.js).
 * Records clicks (selector, document coordinates, dead/fixed flags) and the maximum scroll depth per
 * pageview, and posts them in batches to <endpoint>/rest/v1/events every 5 s and when the page is hidden.
 * A click also carries elementRect {x, y, width, height}: the clicked element's box, rounded to whole CSS
 * px like x/y and placed like them (document px; y in viewport px when the click is `fixed`) (CONTRACT 15);
 * clamped only to the server's bounds (x/y -1e6..2e6, sides 0..1e6), so x/y may be negative.
 * Segments (CONTRACT 14), taken once per session on its landing page and sent with each of its events:
 * utmSource, utmMedium, utmCampaign from the URL's utm_source/utm_medium/utm_campaign (control characters
 * removed, cut to 128 characters, trimmed), and referrerHost, the host[:port] of document.referrer, never
 * its path or query, left out when there is none or it is this page's own host. Empty fields are left out.
 * Never reads page text or input values. Does nothing when navigator.doNotTrack === "1".
 * Globals:
 * - window.__heatmaps.flush() sends queued events now, ignoring retry backoff, and returns a Promise
 *   settled when the sends are done (for tests and single-page apps about to tear down).
 * - window.heatmaps.tag(key, value) tags the session: every event queued after the call carries
 *   tags {key: value, ...}, on this page and the session's later ones. key: [A-Za-z0-9_.-]{1,32}, else
 *   the call is ignored; value: converted to a string, control characters removed, cut to 64 characters
 *   (not refused); an empty value (or null/undefined) removes the key. At most 10 keys: a new key beyond
 *   them is ignored, a known one is replaced. A session started on this page (after 30 idle minutes)
 *   keeps the tags set on this page.
 *   `tag` exists once the tracker has run (a deferred tracker: before DOMContentLoaded), and never when it
 *   stays off (Do Not Track, blocked). Calls made before can be queued on a stub the tracker replays:
 *     window.heatmaps = window.heatmaps || {};
 *     heatmaps.tag = heatmaps.tag || function () { (heatmaps.tag.q = heatmaps.tag.q || []).push(arguments); };
 *   Other members of an existing window.heatmaps are left alone.
 */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[data-key]");
  var key = script && script.getAttribute("data-key");
  if (!key || navigator.doNotTrack === "1" || window.__heatmaps || !/^https?:$/.test(location.protocol)) return;
  var base, url; // the endpoint and its /rest/v1/events, set below inside try (a script without src may throw)
  var recording = script.getAttribute("data-record") === "on";
  var share = parseFloat(script.getAttribute("data-record-sample"));
  var recDecision = null; // [session id, "1" recorded or "0" not], kept in sessionStorage with the session

  var IDLE_MS = 30 * 60 * 1000; // new session after 30 minutes without activity
  var DEAD_MS = 2500; // no DOM mutation this long after a click -> dead (CONTRACT 2.3)
  var ALIVE_MS = 100; // a scroll, selection or navigation this soon after a click -> alive
  var ECHO_MS = 500; // a change in view this soon after a later press or scroll is that action's
  // Work per mutation callback, so pages that mutate a lot stay fast: records looked at, and boxes
  // measured (the first measurement after a change may lay the page out).
  var MAX_RECORDS = 500;
  var MAX_BOXES = 12;
  var BOTTOM_PX = 2; // this close to the end of the page counts as the end (fractional scroll, zoom)
  var FLUSH_MS = 5000;
  var MAX_BATCH = 500; // events per request (CONTRACT 3.1)
  // Bytes per body. In-flight keepalive fetches and beacons share a 64 KiB budget, so an unload beacon
  // must still fit beside a pending fetch.
  var MAX_BODY = 32000;
  var MAX_QUEUE = 1000; // oldest events are dropped beyond this, so memory stays bounded
  var ID_RE = /^[A-Za-z0-9]{8,40}$/;
  // What the server accepts (CONTRACT 14, 15; data_layer/event_models.py): one invalid event fails its
  // whole batch, so values are made valid here.
  var UTM_MAX = 128, HOST_MAX = 255, TAG_MAX = 64, MAX_TAGS = 10;
  var TAG_KEY = /^[A-Za-z0-9_.-]{1,32}$/;
  var CONTROL = /[\u0000-\u001f\u007f]/g; // refused in campaigns and tags
  var LONE = /^[\ud800-\udfff]$/; // half a surrogate pair: not encodable as UTF-8, so not storable
  var RECT_MAX = 1000000; // a box's x/y within -1e6..2e6, its width/height within 0..1e6
  // Build-tool hashes (CSS modules, CSS-in-JS) and state classes would not match the element next time.
  // CSS modules as Docusaurus names them end in _ and a hash of 4 to 6 letters and digits with a capital
  // or a digit (docRoot_UBD9, sidebar_njMd), unlike a class a person wrote (card_wide).
  var UNSTABLE_CLASS =
    /\d{3,}|\d[a-zA-Z]+\d|_(?=[a-z]*[A-Z0-9])[A-Za-z0-9]{4,6}$|^(css|sc|jsx|emotion|svelte)-|__|^_|^(is|has)-|active|hover|focus|open|selected|checked/;
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

  var queue = [], pending = [], observer = null, inflight = null;
  // The last pointer click, and whether text got selected since the last press: a press that selects
  // (double click on a word, drag) reacts before its click event fires.
  var lastClick = null, pressSelected = false;
  // The last press until its click: { els, at, changed }, `changed` once the DOM reacted to it (a
  // popover that closes when focus leaves it reacts to the press, before the click event fires).
  var press = null;
  // When the visitor last pressed or scrolled (performance.now()). A change in view this soon after it is
  // that action's, not an earlier click's: a scroll spy restyling a sticky header and its table of
  // contents, the menu the next click opens.
  var actedAt = -Infinity;
  // The control of the <label> clicked last, until the next press or key: the browser follows a click on
  // a label with a click of its own on the control, which is the same user action.
  var labelled = null;
  var range = null; // measures text nodes
  var counter = 0, failures = 0, retryAt = 0;
  var sid = null, lastActivity = 0, savedActivity = 0, vid = null;
  // The session's segments and tags: { s: session id, f: {utmSource, ...}, t: {key: value} }, kept in
  // sessionStorage as hm_seg so the session's later pages carry what its landing page saw.
  var seg = null;
  var pageTags = dict(); // tags set on this page: a session that starts on it begins with them
  var pv = newPageview();
  var encoder = new TextEncoder();

  function randomId(n) {
    var bytes = crypto.getRandomValues(new Uint8Array(n)), s = "";
    for (var i = 0; i < n; i++) s += ALPHABET[bytes[i] % 62];
    return s;
  }

  // Storage can be disabled or throw (privacy modes, sandboxed iframes): fall back to memory.
  function store(area, name, value) {
    try {
      if (value === undefined) return window[area].getItem(name);
      window[area].setItem(name, value);
    } catch (e) {
      return null;
    }
  }

  function visitor() {
    if (!vid) {
      vid = store("localStorage", "hm_vid");
      if (!ID_RE.test(vid || "")) store("localStorage", "hm_vid", (vid = randomId(16)));
    }
    return vid;
  }

  /** Current session id; counts as activity, rolling over to a new id after IDLE_MS without any. */
  function session() {
    var now = Date.now();
    if (!sid) {
      sid = store("sessionStorage", "hm_sid");
      lastActivity = +store("sessionStorage", "hm_sat") || 0;
      if (!ID_RE.test(sid || "")) sid = null;
    }
    if (!sid || now - lastActivity > IDLE_MS) store("sessionStorage", "hm_sid", (sid = randomId(16)));
    segments(sid); // a new session takes its segments now, from the page it lands on
    lastActivity = now;
    if (now - savedActivity > 1000) store("sessionStorage", "hm_sat", String((savedActivity = now)));
    return sid;
  }

  /** An object without a prototype, so keys such as "__proto__" or "constructor" are plain keys. */
  function dict(from) {
    var d = Object.create(null);
    for (var k in from) d[k] = from[k];
    return d;
  }

  /** `value` as a string of at most `max` characters (code points, so no surrogate pair is split),
   * without control characters, and with U+FFFD for a lone surrogate. */
  function cut(value, max) {
    return Array.from(String(value).replace(CONTROL, ""))
      .slice(0, max)
      .map(function (c) {
        return LONE.test(c) ? "\ufffd" : c;
      })
      .join("");
  }

  /** The segment fields of a session landing on this page. Only the referrer's host is kept: its path and
   * query may name what the visitor read or searched. This site's own host is an internal navigation (a
   * session that starts after 30 idle minutes on a later page), not a referrer. */
  function landing() {
    var f = {}, params = new URLSearchParams(location.search), host = "";
    ["Source", "Medium", "Campaign"].forEach(function (name) {
      var value = cut(params.get("utm_" + name.toLowerCase()) || "", UTM_MAX).trim();
      if (value) f["utm" + name] = value;
    });
    try {
      host = new URL(document.referrer).host.toLowerCase();
    } catch (e) {
      /* no referrer */
    }
    if (host && host !== location.host.toLowerCase() && host.length <= HOST_MAX) f.referrerHost = host;
    return f;
  }

  /** Segments and tags of session `id`: saved ones when the session began on an earlier page, else taken
   * now, from the page it starts on. */
  function segments(id) {
    if (seg && seg.s === id) return seg;
    try {
      seg = JSON.parse(store("sessionStorage", "hm_seg"));
    } catch (e) {
      seg = null;
    }
    if (seg && seg.s === id && seg.f && seg.t) {
      seg.t = dict(seg.t);
    } else {
      seg = { s: id, f: landing(), t: dict(pageTags) };
      saveSegments();
    }
    return seg;
  }

  function saveSegments() {
    store("sessionStorage", "hm_seg", JSON.stringify(seg));
  }

  /** window.heatmaps.tag(key, value): see the header for the rules. Does not count as activity. */
  function setTag(name, value) {
    name = String(name);
    if (!TAG_KEY.test(name)) return;
    value = value == null ? "" : cut(value, TAG_MAX);
    // A new object each time: events queued before share the old one, and keep the tags they had.
    var g = segments(sid), t = dict(g.t), known = name in t;
    if (!value) delete t[name];
    else if (known || Object.keys(t).length < MAX_TAGS) t[name] = value;
    else return;
    if (value) pageTags[name] = value;
    else delete pageTags[name];
    g.t = t;
    saveSegments();
  }

  /** Whether session `id` is recorded: drawn once per session with the data-record-sample share. */
  function recorded(id) {
    if (!recDecision || recDecision[0] !== id) {
      var saved = (store("sessionStorage", "hm_rec") || "").split(":");
      recDecision = saved[0] === id ? saved : [id, Math.random() < (isNaN(share) ? 1 : share) ? "1" : "0"];
      store("sessionStorage", "hm_rec", recDecision.join(":"));
    }
    return recDecision[1] === "1";
  }

  /** Hands the session recorder what it needs, then loads it from this script's origin. */
  function startRecorder() {
    window.__heatmaps.recording = {
      endpoint: base,
      key: key,
      visitor: visitor(),
      session: function () {
        return sid && recorded(sid) ? sid : null;
      },
      stop: function (id) {
        store("sessionStorage", "hm_rec", (recDecision = [id, "0"]).join(":"));
      },
    };
    var el = document.createElement("script");
    el.src = (script.src ? new URL(script.src).origin : base) + "/tracker-record.js";
    el.async = true;
    (document.head || document.documentElement).appendChild(el);
  }

  function clamp(v, lo, hi) {
    return Math.min(hi, Math.max(lo, v));
  }

  /** Sizes of the viewport and of what scrolls in it: the scrolling element (<html>, or <body> in quirks
   * mode), not <body>, which can reach past the end of the scrollable area (negative margins). */
  function sizes() {
    var se = document.scrollingElement || document.documentElement;
    return {
      viewportWidth: clamp(Math.round(innerWidth), 1, 20000),
      viewportHeight: clamp(Math.round(innerHeight), 1, 20000),
      documentWidth: clamp(se.scrollWidth, 1, 1000000),
      documentHeight: clamp(se.scrollHeight, 1, 1000000),
    };
  }

  function pageKey() {
    return location.origin + location.pathname;
  }

  function pageUrl() {
    var href = location.href;
    return href.length <= 2048 ? href : pageKey().slice(0, 2048);
  }

  function newPageview() {
    return { key: pageKey(), url: pageUrl(), depth: -1, at: 0, sentDepth: -1, sentSid: null, sizes: null };
  }

  function makeEvent(type, id, s, href) {
    var ev = { eventId: id + "." + ++counter + "." + randomId(6), type: type, timestamp: new Date().toISOString() };
    ev.sessionId = id;
    ev.visitorId = visitor();
    ev.url = href;
    for (var k in s) ev[k] = s[k];
    var g = segments(id);
    for (k in g.f) ev[k] = g.f[k];
    if (Object.keys(g.t).length) ev.tags = g.t;
    return ev;
  }

  function enqueue(events) {
    queue = queue.concat(events);
    if (queue.length > MAX_QUEUE) queue = queue.slice(queue.length - MAX_QUEUE);
  }

  // ---- scroll depth --------------------------------------------------------------------------
  /** The pageview's scroll event when its max depth grew (or the session changed) since the last one.
   * A new depth carries the time it was reached, not the time it is sent. */
  function scrollEvent() {
    if (pv.depth < 0 || (pv.depth <= pv.sentDepth && pv.sentSid === sid)) return [];
    var ev = makeEvent("scroll", sid, pv.sizes, pv.url);
    if (pv.depth > pv.sentDepth) ev.timestamp = new Date(pv.at).toISOString();
    ev.depth = pv.depth;
    pv.sentDepth = pv.depth;
    pv.sentSid = sid;
    return [ev];
  }

  /** Updates the max depth; a changed path (single-page app navigation) closes the old pageview. */
  function measure() {
    if (pv.key !== pageKey()) {
      enqueue(scrollEvent());
      pv = newPageview();
    }
    var s = sizes(), seen = scrollY + innerHeight;
    // At the end of the page (give or take the rounding of fractional positions) is all of it.
    var depth = clamp(Math.round((seen / s.documentHeight) * 1000) / 10, 0, 100);
    if (seen >= s.documentHeight - BOTTOM_PX) depth = 100;
    if (depth > pv.depth) {
      pv.depth = depth;
      pv.at = Date.now();
      pv.sizes = s;
      pv.url = pageUrl();
    }
  }

  // ---- clicks --------------------------------------------------------------------------------
  function isStableId(id) {
    return (
      /^[A-Za-z][\w-]{0,99}$/.test(id) && !/\d{3,}/.test(id) && document.querySelectorAll("#" + CSS.escape(id)).length === 1
    );
  }

  /** `#id`, or a `tag.class:nth-of-type(n)` path from the nearest stable-id ancestor or body. */
  function selector(el) {
    var parts = [];
    for (; el && el.nodeType === 1; el = el.parentElement) {
      if (el.id && isStableId(el.id)) {
        parts.unshift("#" + CSS.escape(el.id));
        break;
      }
      var tag = el.localName;
      if (tag === "body" || tag === "html") {
        parts.unshift(tag);
        break;
      }
      var part = CSS.escape(tag), same = 0, index = 0;
      var classes = Array.prototype.filter.call(el.classList, function (c) {
        return c.length <= 40 && !UNSTABLE_CLASS.test(c);
      });
      for (var i = 0; i < classes.length && i < 3; i++) part += "." + CSS.escape(classes[i]);
      for (var sib = el.parentElement && el.parentElement.firstElementChild; sib; sib = sib.nextElementSibling) {
        if (sib.localName === tag) same++;
        if (sib === el) index = same;
      }
      parts.unshift(same > 1 ? part + ":nth-of-type(" + index + ")" : part);
    }
    var out = parts.join(" > ");
    while (out.length > 512 && parts.length > 1) out = (parts.shift(), parts.join(" > "));
    return out.slice(-512);
  }

  function isFixed(el) {
    for (; el && el.nodeType === 1 && el !== document.body; el = el.parentElement) {
      var position = getComputedStyle(el).position;
      if (position === "fixed" || position === "sticky") return true;
    }
    return false;
  }

  function settle(click, dead) {
    var i = pending.indexOf(click);
    if (i < 0) return;
    pending.splice(i, 1);
    clearTimeout(click.timer);
    click.ev.dead = dead;
    enqueue([click.ev]);
    unwatch();
    // A double or triple click is one gesture: its earlier clicks share the reaction of a later one.
    // Longer bursts are left alone: they are what rage and dead clicks exist to catch.
    if (!dead && click.prev) settle(click.prev, false);
  }

  /** Whether DOM changes are still of interest: a click waits for its verdict, or a press for a reaction. */
  function watching() {
    return pending.length > 0 || (press && !press.changed && performance.now() - press.at <= DEAD_MS);
  }

  function watch() {
    if (observer) return;
    observer = new MutationObserver(guard(onMutations));
    observer.observe(document, {
      subtree: true,
      attributes: true,
      attributeOldValue: true,
      childList: true,
      characterData: true,
      characterDataOldValue: true,
    });
  }

  function unwatch() {
    if (observer && !watching()) observer = observer.disconnect();
  }

  /** Marks alive every pending click made at most `withinMs` ago. */
  function alive(withinMs) {
    var now = performance.now();
    pending.slice().forEach(function (click) {
      if (now - click.at <= withinMs) settle(click, false);
    });
  }

  // ---- reactions: which DOM mutations answer a click ------------------------------------------
  // A mutation answers the pending clicks (and the press before its click) when it changes something (a
  // rewrite to the same value does not) that the visitor can tie to the click: at, inside or around the
  // clicked element, or visible in the viewport. Changes out of view and unrelated to the clicked element
  // (a scroll spy's classes, a fade far down the page) are not reactions. See docs/metrics.md.

  /** Whether `node` is at, inside or around (an ancestor of) a click's element or its label's control. */
  function near(node, click, around) {
    for (var i = 0; i < click.els.length; i++) {
      var el = click.els[i];
      if (el === node || el.contains(node) || (around && node.contains(el))) return true;
    }
    return false;
  }

  /** Whether `node` has a box inside the viewport. A node without one (not rendered, or a comment) is
   * judged by its nearest ancestor with one when `orParent`: it may just have been hidden. Each box
   * measured spends one of `budget.n`. */
  function inView(node, orParent, budget) {
    for (; node && budget.n > 0; node = node.nodeType === 11 ? node.host : node.parentNode) {
      var tag = node.localName;
      if (tag === "style" || (tag === "link" && /stylesheet/i.test(node.rel))) return true; // restyles the page
      if (/^(head|script|template|title|meta)$/.test(tag)) return false; // shows nothing in the page
      var r = null;
      if (node.nodeType === 1) r = node.getBoundingClientRect();
      else if (node.nodeType === 3) {
        range = range || document.createRange();
        range.selectNodeContents(node);
        r = range.getBoundingClientRect();
      }
      if (r) budget.n--;
      if (r && (r.width || r.height)) {
        return r.bottom >= 0 && r.right >= 0 && r.top <= innerHeight && r.left <= innerWidth;
      }
      if (!orParent) return false;
    }
    return false;
  }

  /** Shows something: an element, or text that is not only white space (comments, for one, do not). */
  function visible(node) {
    return node.nodeType === 1 ? node.localName !== "script" : node.nodeType === 3 && /\S/.test(node.data);
  }

  /** Settles a pending click as alive, or notes that the DOM reacted to the press. */
  function answer(click) {
    if (click === press) press.changed = true;
    else settle(click, false);
  }

  /** A change at `node` answers the pending clicks (and press) it concerns (`how`: "changed", "added",
   * "removed"). */
  function reaction(node, how, record, budget) {
    if (!node) return;
    var waiting = (press && !press.changed ? pending.concat([press]) : pending.slice()).filter(function (click) {
      // An attribute or text changed at, in or around the clicked element; nodes added or removed inside
      // it; the clicked element itself removed.
      var at = how === "changed" ? near(node, click, true) : near(record.target, click, false);
      if (!at && !(how === "removed" && near(node, click, true))) return true;
      answer(click);
      return false;
    });
    // Not near it, a change answers a click only in view, and not right after a later press or scroll.
    var now = performance.now();
    waiting = waiting.filter(function (click) {
      return !(actedAt > click.at && now - actedAt <= ECHO_MS);
    });
    if (!waiting.length) return;
    // Nodes added must show themselves, and so must changed text unless it went blank. A removed node is
    // judged where it was (by its nearest neighbour that may show, else its parent), and a changed
    // element that no longer shows by its nearest ancestor that does (it may just have been hidden).
    var where = node, orParent = how === "removed" || (node.nodeType === 1 ? how === "changed" : !/\S/.test(node.data));
    if (how === "removed") {
      where = neighbour(record.previousSibling, "previousSibling") || neighbour(record.nextSibling, "nextSibling");
      where = where || record.target;
    }
    if (inView(where, orParent, budget)) waiting.forEach(answer);
  }

  /** The nearest element from `node` on (`step`: "previousSibling" or "nextSibling") that may show,
   * within a few steps past white space, comments and scripts; null when there is none. */
  function neighbour(node, step) {
    for (var i = 0; node && i < 8; i++, node = node[step]) {
      if (!node.isConnected) return null;
      if (node.nodeType === 1 && !/^(script|template|style|link|meta)$/.test(node.localName)) return node;
    }
    return null;
  }

  /** Whether nodes put in equal the nodes taken out: content set to what it was (innerHTML, textContent). */
  function samePut(added, removed) {
    if (!added.length || added.length !== removed.length || added.length > 8) return false;
    for (var i = 0; i < added.length; i++) if (!added[i].isEqualNode(removed[i])) return false;
    return true;
  }

  /** Judges the first few nodes that show among those a childList record added or removed. */
  function nodesReaction(nodes, how, record, budget) {
    for (var i = 0, n = 0; i < nodes.length && n < 4 && watching(); i++) {
      if (visible(nodes[i])) {
        n++;
        reaction(nodes[i], how, record, budget);
      }
    }
  }

  /** The MutationObserver callback: bounded work, and done as soon as no click is pending. */
  function onMutations(records) {
    var budget = { n: MAX_BOXES }, last = null;
    for (var i = 0; i < records.length && i < MAX_RECORDS && watching(); i++) {
      var r = records[i], t = r.target;
      if (r.type === "attributes") {
        // Compared with the current value: setting an attribute to the value it has is no change.
        if (t === last || r.oldValue === t.getAttributeNS(r.attributeNamespace, r.attributeName)) continue;
        reaction((last = t), "changed", r, budget);
      } else if (r.type === "characterData") {
        if (r.oldValue !== t.data) reaction(t, "changed", r, budget);
      } else if (!samePut(r.addedNodes, r.removedNodes)) {
        nodesReaction(r.addedNodes, "added", r, budget);
        nodesReaction(r.removedNodes, "removed", r, budget);
      }
    }
    unwatch();
  }

  /** Records user clicks only: clicks dispatched by scripts (el.click()) would double-count. */
  function onClick(e) {
    var el = e.target && e.target.nodeType === 1 ? e.target : e.target && e.target.parentElement;
    if (!el || !e.isTrusted) return;
    // The browser's own click on a label's control, following the click on the label: one user action.
    if (labelled && el === labelled) return (labelled = null);
    var pressed = press, label = el.closest && el.closest("label"), control = label && label.control;
    press = null;
    labelled = control && !control.contains(el) ? control : null;
    measure();
    var s = sizes(), fixed = isFixed(el), cx = e.clientX, cy = e.clientY, id = session();
    var r = el.getBoundingClientRect();
    if (!e.detail) {
      // Keyboard activation (Enter/Space) has no pointer position: use the element's centre.
      cx = r.left + r.width / 2;
      cy = r.top + r.height / 2;
    }
    // A click proves the visitor saw that far: the depth goes out before the click, whatever the timer,
    // and (seen before the click) stamped before it, so it sorts first in whichever request it arrives.
    pv.at = Math.min(pv.at, Date.now() - 1);
    enqueue(scrollEvent());
    var ev = makeEvent("click", id, s, pageUrl());
    ev.x = clamp(Math.round(cx + scrollX), 0, s.documentWidth);
    ev.y = clamp(Math.round(fixed ? cy : cy + scrollY), 0, s.documentHeight);
    ev.fixed = fixed;
    ev.selector = selector(el);
    // Placed like the click itself, so the box holds the point. Not clamped to the document (an element
    // may reach past its top or left edge), only to what the server accepts.
    ev.elementRect = {
      x: clamp(Math.round(r.left + scrollX), -RECT_MAX, 2 * RECT_MAX),
      y: clamp(Math.round(fixed ? r.top : r.top + scrollY), -RECT_MAX, 2 * RECT_MAX),
      width: clamp(Math.round(r.width), 0, RECT_MAX),
      height: clamp(Math.round(r.height), 0, RECT_MAX),
    };
    var click = { ev: ev, at: performance.now(), prev: e.detail === 2 || e.detail === 3 ? lastClick : null };
    click.els = labelled ? [el, labelled] : [el];
    if (e.detail) lastClick = click;
    click.timer = setTimeout(guard(settle.bind(null, click, true)), DEAD_MS);
    pending.push(click);
    // A reaction since the press (a selection, a change of the DOM) is the click's.
    if (e.detail && (pressSelected || (pressed && pressed.changed))) return settle(click, false);
    watch();
  }

  // ---- sending -------------------------------------------------------------------------------
  /** Removes and returns the next batch from the queue: at most MAX_BATCH events and MAX_BODY bytes. */
  function takeBatch() {
    var n = 0, size = 64 + key.length;
    while (n < queue.length && n < MAX_BATCH) {
      size += encoder.encode(JSON.stringify(queue[n])).length + 1;
      if (n && size > MAX_BODY) break;
      n++;
    }
    return queue.splice(0, n);
  }

  function retryLater(batch) {
    queue = batch.concat(queue).slice(-MAX_QUEUE);
    failures++;
    retryAt = Date.now() + Math.min(60000, 1000 * Math.pow(2, failures - 1)) * (0.75 + Math.random() / 2);
    return false;
  }

  /** Posts one batch; resolves true when done with it (stored, or rejected for good), false on retry. */
  function post(batch) {
    return fetch(url, {
      method: "POST",
      keepalive: true,
      headers: { "Content-Type": "application/json", Authorization: "Bearer " + key },
      body: JSON.stringify({ events: batch }),
    }).then(
      function (res) {
        // Read the body: until it is consumed Chrome counts the request against the keepalive quota.
        return res.text().then(null, function () {}).then(function () {
          if (res.status === 429 || res.status >= 500) return retryLater(batch);
          failures = 0; // 2xx, or a 4xx that can never succeed: the batch is done either way
          return true;
        });
      },
      function () {
        return retryLater(batch);
      }
    );
  }

  /** Sends queued events. `hidden`: the page may be going away, so settle pending clicks and beacon. */
  function flush(hidden, force) {
    if (hidden) {
      pending.slice().forEach(function (click) {
        settle(click, false); // verdict unknown: not dead
      });
    }
    measure();
    enqueue(scrollEvent());
    if (hidden) {
      while (queue.length) {
        var batch = takeBatch(), body = JSON.stringify({ key: key, events: batch });
        var sent = navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "text/plain" }));
        if (!sent) post(batch);
      }
      return Promise.resolve();
    }
    if (inflight) return inflight;
    if (!queue.length || (!force && Date.now() < retryAt)) return Promise.resolve();
    inflight = post(takeBatch()).then(function (done) {
      inflight = null;
      if (done && queue.length) return flush(false, force);
    });
    return inflight;
  }

  function guard(fn) {
    return function (e) {
      try {
        return fn(e);
      } catch (err) {
        /* never break the host page */
      }
    };
  }

  function listen(target, type, fn, capture) {
    target.addEventListener(type, guard(fn), { capture: !!capture, passive: true });
  }

  /** Puts tag() on window.heatmaps (made if absent, other members kept), then replays the calls a stub
   * queued before the tracker ran. */
  function exposeTag() {
    var hm = window.heatmaps;
    if (!hm || (typeof hm !== "object" && typeof hm !== "function")) hm = window.heatmaps = {};
    var early = typeof hm.tag === "function" && hm.tag.q;
    hm.tag = function (name, value) {
      try {
        setTag(name, value);
      } catch (err) {
        /* never break the host page */
      }
    };
    try {
      for (var i = 0; early && i < early.length; i++) hm.tag(early[i][0], early[i][1]);
    } catch (err) {
      /* a malformed queue */
    }
  }

  try {
    base = (script.getAttribute("data-endpoint") || new URL(script.src).origin).replace(/\/+$/, "");
    url = base + "/rest/v1/events";
    session();
    listen(document, "click", onClick, true);
    // Capture: scroll events of inner scroll containers do not bubble, but still count as a reaction.
    listen(
      window,
      "scroll",
      function () {
        alive(ALIVE_MS);
        actedAt = performance.now();
        if (Date.now() - lastActivity > 1000) session();
        measure();
      },
      true
    );
    // Both: a page that cancels pointerdown suppresses mousedown, and old browsers lack pointer events.
    // A new press or key is a new user action, so a click after it is no label's echo.
    ["pointerdown", "mousedown", "keydown"].forEach(function (type) {
      listen(
        window,
        type,
        function (e) {
          labelled = null;
          if (type === "keydown") return;
          pressSelected = false;
          // One press per gesture: mousedown follows pointerdown where pointer events exist.
          if (type === "pointerdown" || !window.PointerEvent) {
            var el = e.target && e.target.nodeType === 1 ? e.target : e.target && e.target.parentElement;
            press = el ? { els: [el], at: (actedAt = performance.now()), changed: false } : null;
            if (press) watch();
          }
        },
        true
      );
    });
    listen(document, "selectionchange", function () {
      var sel = document.getSelection();
      if (sel && !sel.isCollapsed) {
        pressSelected = true;
        alive(ALIVE_MS);
      }
    });
    ["beforeunload", "hashchange", "popstate"].forEach(function (type) {
      listen(window, type, alive.bind(null, ALIVE_MS));
    });
    listen(document, "visibilitychange", function () {
      if (document.visibilityState === "hidden") flush(true);
    });
    listen(window, "pagehide", flush.bind(null, true));
    setInterval(guard(flush.bind(null, false, false)), FLUSH_MS);
    window.__heatmaps = {
      flush: function () {
        try {
          return flush(false, true).catch(function () {});
        } catch (err) {
          return Promise.resolve();
        }
      },
    };
    exposeTag();
    if (recording && recorded(sid)) startRecorder();
  } catch (err) {
    /* unsupported browser: stay silent */
  }
})();
