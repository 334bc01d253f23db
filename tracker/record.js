/*
 * Heatmaps session recorder (CONTRACT 13): starts the vendored rrweb recorder and uploads what it
 * records. Served by the API as the end of /tracker-record.js, after the rrweb bundle (api/recorder_script.py
 * hands this function the bundle's `rrwebRecord`). The tracker (tracker.js) loads it only when its tag
 * says data-record="on" and this session was sampled in; it leaves window.__heatmaps.recording:
 *   { endpoint, key, visitor, session() -> the current session id when it is recorded, else null,
 *     stop(sessionId) -> records no more of that session }
 * and this script adds recording.flush() (sends everything now; a Promise, for tests and benchmarks).
 *
 * Privacy by default, before anything leaves the page: every text node is masked with its length kept
 * (each non-space character becomes "*", so the layout holds), every input value is masked, text-bearing
 * attributes (title, alt, placeholder, aria-label, value, label, a meta tag's content, ...) are masked in
 * every serialized node and attribute change, comments go; no canvas pixels, images as URLs only, no
 * fonts. Nothing is recorded when navigator.doNotTrack === "1".
 *
 * Upload: POST <endpoint>/rest/v1/recordings {sessionId, visitorId, url, seq, events}, one request at a
 * time, gzip (Content-Encoding) where CompressionStream exists. seq numbers a session's chunks across the
 * pages of the session (sessionStorage). A chunk goes every 5 s, as soon as its events reach 256 K
 * characters, and right after a full snapshot. A failed chunk is tried 4 times at most; a 413 (the
 * session's cap) ends the session's recording. When the page is hidden, what is left goes by
 * navigator.sendBeacon (text/plain with "key", parts under 60 KB); what a beacon cannot carry is kept in
 * sessionStorage for the session's next page to send.
 */
(function (rrwebRecord) {
  "use strict";
  var hm = window.__heatmaps, rec = hm && hm.recording;
  if (!rec || rec.flush || !rrwebRecord || navigator.doNotTrack === "1") return;

  var FLUSH_MS = 5000;
  var CHUNK_CHARS = 256 * 1024; // events of one chunk (JSON characters), so bodies stay well under 1 MiB
  var MAX_BODY = 1000000; // bytes per request: the server's limit is 1 MiB
  var BEACON_BYTES = 60000; // per beacon: in-flight beacons share 64 KiB with the tracker's own
  var MAX_TRIES = 4;
  var MAX_BACKLOG = 4 * 1024 * 1024; // characters waiting to be sent before this page stops recording
  var STASH_CHARS = 1024 * 1024; // characters of unsent chunks left in sessionStorage for the next page
  var SEQ_KEY = "hm_rseq", STASH_KEY = "hm_rout";
  // Attributes that carry page text. `value` covers hidden, submit and button inputs, options, and
  // whatever rrweb's input masking leaves out; data-* only where the name says it is text.
  var TEXT_ATTRIBUTE =
    /^(title|alt|placeholder|label|value|summary|abbr|srcdoc|aria-(label|description|valuetext|placeholder|roledescription)|data-[\w-]*(title|label|tooltip|text|content|caption|placeholder|name|value|message|hint|description)[\w-]*)$/i;
  // Attributes that name elements: site generators make ids (and the links and labels pointing at them)
  // from headings' words, so they are page text too.
  var NAME_ATTRIBUTE =
    /^(id|name|for|headers|aria-(labelledby|describedby|controls|owns|activedescendant|flowto|details|errormessage))$/i;
  // Selectors naming elements (`#__drawer`; `[for=__search]`, `[id^="fnref:"]`, quoted or not, with a
  // case flag or not): what they spell out is the page's design, not its text (see maskName).
  var ID_SELECTOR = /#(-?[_a-zA-Z][\w-]*)/g;
  var NAME_SELECTOR = /\[\s*([\w-]+)\s*([~^$*]?)=\s*(?:"([^"]*)"|'([^']*)'|([^\]\s]+))\s*(?:[iIsS]\s*)?\]/g;
  // Links whose target is personal: an e-mail address, a phone number.
  var PERSONAL_LINK = /^\s*(mailto|tel|sms|callto):/i;
  // rrweb's event and node types (@rrweb/types).
  var FULL_SNAPSHOT = 2, INCREMENTAL = 3, META = 4, MUTATION = 0, INPUT = 5;
  var ELEMENT = 2, TEXT = 3, CDATA = 4, COMMENT = 5;

  var url = rec.endpoint + "/rest/v1/recordings";
  var mirror = rrwebRecord.record.mirror;
  var sid = null; // the session being recorded; null while the current one is not
  var waitingSnapshot = false; // after a change of session, events wait for the new full snapshot
  var buffer = [], bufferChars = 0; // events as JSON, not yet in a chunk
  var outbox = [], outboxChars = 0; // chunks { sid, seq, json, tries } in seq order, not yet delivered
  var pumping = null, retryAt = 0, failures = 0, seqState = { sid: null, next: 0 };
  var stopRecording = null, timer = null;
  // The names the page's readable stylesheets select by, read at each full snapshot: exact ones, and
  // [operator, part] pairs of the other attribute selectors.
  var styleNames = { exact: Object.create(null), parts: [] };

  function storage(name, value) {
    try {
      if (value === undefined) return sessionStorage.getItem(name);
      if (value === null) sessionStorage.removeItem(name);
      else sessionStorage.setItem(name, value);
    } catch (e) {
      return null;
    }
  }

  // ---- masking ---------------------------------------------------------------------------------
  /** Text with each non-space character replaced: the same length, so the layout holds. */
  function maskText(text) {
    return typeof text === "string" ? text.replace(/\S/g, "*") : text;
  }

  /** A value with every character replaced (an input's spaces would tell its words apart). */
  function maskValue(text) {
    return typeof text === "string" ? text.replace(/[^]/g, "*") : text;
  }

  /** Reads the names `rules` (and the rules nested in them) select elements by into `found`. */
  function collectNames(rules, found) {
    for (var i = 0; rules && i < rules.length; i++) {
      var rule = rules[i], text = rule.selectorText, m;
      if (rule.cssRules) collectNames(rule.cssRules, found);
      if (!text) continue;
      for (ID_SELECTOR.lastIndex = 0; (m = ID_SELECTOR.exec(text)); ) found.exact[m[1]] = true;
      for (NAME_SELECTOR.lastIndex = 0; (m = NAME_SELECTOR.exec(text)); ) {
        var part = m[3] !== undefined ? m[3] : m[4] !== undefined ? m[4] : m[5];
        if (!NAME_ATTRIBUTE.test(m[1]) || !part) continue;
        if (m[2]) found.parts.push([m[2], part]);
        else found.exact[part] = true;
      }
    }
  }

  /** The names this page's stylesheets select by; another origin's sheets cannot be read (and a
   * recording cannot carry them either). */
  function readStyleNames() {
    var found = { exact: Object.create(null), parts: [] }, sheets = document.styleSheets;
    for (var i = 0; i < sheets.length; i++) {
      try {
        collectNames(sheets[i].cssRules, found);
      } catch (e) {
        /* another origin's sheet */
      }
    }
    styleNames = found;
  }

  /** An id or name masked like a value, except what a stylesheet's selector spells out of it (a theme's
   * `#__drawer`, the `fnref:` of `[id^="fnref:"]`): that text is in the recorded stylesheet already,
   * and masked, the replay lost the rules (a drawer's and a search's toggles showed at every width). */
  function maskName(value) {
    if (styleNames.exact[value]) return value;
    for (var i = 0; i < styleNames.parts.length; i++) {
      var how = styleNames.parts[i][0], part = styleNames.parts[i][1], at = value.indexOf(part);
      if (how === "^" && at === 0) return part + maskValue(value.slice(part.length));
      if (how === "$" && at >= 0 && value.lastIndexOf(part) === value.length - part.length) {
        return maskValue(value.slice(0, value.length - part.length)) + part;
      }
      if (how === "*" && at >= 0) return maskValue(value.slice(0, at)) + part + maskValue(value.slice(at + part.length));
      if (how === "~" && value.split(/\s+/).indexOf(part) >= 0) {
        return value.replace(/\S+/g, function (token) {
          return token === part ? token : maskValue(token);
        });
      }
    }
    return maskValue(value);
  }

  /** A link keeps where it leads but not what it says: an e-mail address or phone number, and the
   * fragment (a heading's id). */
  function maskLink(href) {
    var personal = PERSONAL_LINK.exec(href);
    if (personal) return personal[0] + maskValue(href.slice(personal[0].length));
    var hash = href.indexOf("#");
    return hash < 0 ? href : href.slice(0, hash + 1) + maskValue(href.slice(hash + 1));
  }

  /** Masks the text-bearing attributes of an element `tag` (lower case) in place; `metaName` is the
   * name of a meta tag (whose content is page text unless it sets the viewport). */
  function maskAttributes(tag, attributes, metaName) {
    for (var name in attributes) {
      var value = attributes[name];
      if (typeof value !== "string") continue; // removed (null) or a style diff
      var lower = name.toLowerCase();
      if (lower === "value") attributes[name] = maskValue(value);
      else if (lower === "href" || lower === "xlink:href") attributes[name] = maskLink(value);
      else if (NAME_ATTRIBUTE.test(lower) && !(tag === "meta" && lower === "name")) {
        attributes[name] = maskName(value);
      } else if (lower === "content" ? tag === "meta" && !/^viewport$/i.test(metaName || "") : TEXT_ATTRIBUTE.test(lower)) {
        attributes[name] = maskText(value);
      }
    }
  }

  /** Masks a serialized node and its subtree in place. rrweb has masked text already, but not text
   * whose parent is no element (straight in a shadow root); a style's text is CSS and stays. */
  function maskNode(node, parentTag) {
    if (node.type === ELEMENT) {
      maskAttributes(node.tagName, node.attributes || {}, node.attributes && node.attributes.name);
    } else if (node.type === TEXT || node.type === CDATA || node.type === COMMENT) {
      if (parentTag !== "style") node.textContent = maskText(node.textContent);
    }
    var children = node.childNodes || [];
    for (var i = 0; i < children.length; i++) maskNode(children[i], node.tagName);
  }

  function tagOf(id) {
    var el = mirror.getNode(id);
    return el && el.nodeType === 1 ? el.localName : "";
  }

  /** Masks a mutation: added nodes, changed texts, changed attributes. */
  function maskMutation(data) {
    (data.adds || []).forEach(function (add) {
      maskNode(add.node, tagOf(add.parentId));
    });
    (data.texts || []).forEach(function (change) {
      var node = mirror.getNode(change.id), parent = node && node.parentNode;
      if (!(parent && parent.localName === "style")) change.value = maskText(change.value);
    });
    (data.attributes || []).forEach(function (change) {
      var el = mirror.getNode(change.id), tag = el && el.nodeType === 1 ? el.localName : "";
      maskAttributes(tag, change.attributes || {}, tag === "meta" ? el.getAttribute("name") : "");
    });
  }

  function mask(event) {
    if (event.type === FULL_SNAPSHOT) {
      readStyleNames();
      maskNode(event.data.node, "");
    } else if (event.type === INCREMENTAL && event.data.source === MUTATION) maskMutation(event.data);
    else if (event.type === INCREMENTAL && event.data.source === INPUT) event.data.text = maskValue(event.data.text);
    return event;
  }

  // ---- chunks ----------------------------------------------------------------------------------
  /** The next seq of session `id`, counted on across the session's pages (sessionStorage). */
  function takeSeq(id) {
    if (seqState.sid !== id) seqState = { sid: id, next: 0 };
    var saved = (storage(SEQ_KEY) || "").split(":");
    if (saved[0] === id) seqState.next = Math.max(seqState.next, +saved[1] || 0);
    storage(SEQ_KEY, id + ":" + (seqState.next + 1));
    return seqState.next++;
  }

  function pageUrl() {
    var href = location.href;
    return href.length <= 2048 ? href : (location.origin + location.pathname).slice(0, 2048);
  }

  /** Moves the buffered events into chunks of at most `limit` characters of events (one event alone
   * may be more). */
  function cut(limit) {
    while (buffer.length && sid) {
      var n = 0, size = 0;
      while (n < buffer.length && (!n || size + buffer[n].length < limit)) size += buffer[n++].length + 1;
      var seq = takeSeq(sid), events = buffer.splice(0, n);
      var json =
        '{"sessionId":' + JSON.stringify(sid) + ',"visitorId":' + JSON.stringify(rec.visitor) +
        ',"url":' + JSON.stringify(pageUrl()) + ',"seq":' + seq + ',"events":[' + events.join(",") + "]}";
      outbox.push({ sid: sid, seq: seq, json: json, tries: 0 });
      outboxChars += json.length;
      bufferChars -= size;
    }
    bufferChars = Math.max(0, bufferChars);
    if (outboxChars > MAX_BACKLOG) stop(false); // the server is out of reach: record no more of this page
  }

  function drop(chunk) {
    var i = outbox.indexOf(chunk);
    if (i >= 0) {
      outbox.splice(i, 1);
      outboxChars -= chunk.json.length;
    }
  }

  /** The server refuses more of session `id` (its cap): the tracker records no more of it. */
  function refuse(id) {
    rec.stop(id);
    if (id === sid) return stop(true);
    outbox.filter(function (chunk) {
      return chunk.sid === id;
    }).forEach(drop);
  }

  /** Ends the recording of this page; `session`: the session's recording ends, its stash goes too. */
  function stop(session) {
    if (stopRecording) stopRecording();
    stopRecording = null;
    clearInterval(timer);
    if (session) storage(STASH_KEY, null);
    buffer = [];
    outbox = [];
    bufferChars = outboxChars = 0;
    sid = null;
  }

  // ---- sending ---------------------------------------------------------------------------------
  function byteLength(text) {
    return new Blob([text]).size;
  }

  /** The body of a fetch: gzip where the browser can compress, else the JSON. */
  function body(json) {
    if (!window.CompressionStream) return Promise.resolve(null);
    var stream = new Blob([json]).stream().pipeThrough(new CompressionStream("gzip"));
    return new Response(stream).arrayBuffer().then(null, function () {
      return null;
    });
  }

  /** Posts one chunk; resolves once the chunk is done with (delivered, refused or out of tries). */
  function post(chunk) {
    return body(chunk.json)
      .then(function (gz) {
        var headers = { "Content-Type": "application/json", Authorization: "Bearer " + rec.key };
        if (gz) headers["Content-Encoding"] = "gzip";
        if ((gz ? gz.byteLength : byteLength(chunk.json)) > MAX_BODY) return 413; // the server would refuse it
        return fetch(url, { method: "POST", headers: headers, body: gz || chunk.json }).then(function (res) {
          return res.text().then(null, function () {}).then(function () {
            return res.status;
          });
        });
      })
      .then(null, function () {
        return 0; // no answer
      })
      .then(function (status) {
        if (status === 413) return refuse(chunk.sid);
        if (status === 0 || status === 429 || status >= 500) {
          if (++chunk.tries < MAX_TRIES) {
            failures++;
            retryAt = Date.now() + Math.min(30000, 1000 * Math.pow(2, failures - 1));
            return;
          }
        }
        failures = 0; // delivered, or refused for good (another 4xx), or out of tries: done with it
        drop(chunk);
      });
  }

  /** Sends the outbox one chunk at a time; `force` ignores the wait after a failure. */
  function pump(force) {
    if (pumping) return pumping;
    if (!outbox.length || (!force && Date.now() < retryAt)) return Promise.resolve();
    pumping = post(outbox[0]).then(function () {
      pumping = null;
      if (outbox.length && (force || Date.now() >= retryAt)) return pump(force);
    });
    return pumping;
  }

  function flush(force) {
    cut(CHUNK_CHARS);
    return pump(force);
  }

  /** The page may be going away: beacon what is left, and keep what no beacon carries for the next page
   * of the session. A hidden page may come back: the outbox keeps the stashed chunks, to send them itself. */
  function onHidden() {
    cut(BEACON_BYTES / 2); // characters; checked in bytes below
    var kept = [], keptChars = 0;
    outbox.slice().forEach(function (chunk) {
      var beacon = '{"key":' + JSON.stringify(rec.key) + "," + chunk.json.slice(1);
      if (byteLength(beacon) <= BEACON_BYTES && navigator.sendBeacon(url, new Blob([beacon], { type: "text/plain" }))) {
        return drop(chunk);
      }
      if (keptChars + chunk.json.length <= STASH_CHARS) {
        kept.push({ sid: chunk.sid, seq: chunk.seq, json: chunk.json });
        keptChars += chunk.json.length;
      }
    });
    storage(STASH_KEY, kept.length ? JSON.stringify(kept) : null);
  }

  /** Chunks an earlier page of this session could not send: first in line, under their own seq. */
  function unstash() {
    var kept = [];
    try {
      kept = JSON.parse(storage(STASH_KEY) || "[]");
    } catch (e) {
      /* damaged: nothing to send */
    }
    storage(STASH_KEY, null);
    kept.forEach(function (chunk) {
      if (chunk && typeof chunk.json === "string") {
        outbox.push({ sid: chunk.sid, seq: chunk.seq, json: chunk.json, tries: 0 });
        outboxChars += chunk.json.length;
      }
    });
  }

  // ---- recording -------------------------------------------------------------------------------
  /** rrweb's emit: follows the tracker's session, masks, buffers, and flushes when a chunk is due. */
  function onEvent(event) {
    var current = rec.session();
    if (current !== sid) {
      cut(CHUNK_CHARS); // what was recorded so far belongs to the old session
      sid = current;
      waitingSnapshot = !!sid;
      if (sid) setTimeout(guard(takeSnapshot), 0); // a new session's recording starts with a snapshot
    }
    if (!sid) return;
    if (waitingSnapshot) {
      if (event.type !== META) return;
      waitingSnapshot = false;
    }
    var json = JSON.stringify(mask(event));
    buffer.push(json);
    bufferChars += json.length;
    if (event.type === FULL_SNAPSHOT || bufferChars >= CHUNK_CHARS) flush(false);
  }

  function takeSnapshot() {
    if (stopRecording) rrwebRecord.record.takeFullSnapshot(true);
  }

  function guard(fn) {
    return function (a) {
      try {
        return fn(a);
      } catch (err) {
        /* never break the host page */
      }
    };
  }

  function start() {
    sid = rec.session();
    if (!sid) return;
    unstash();
    stopRecording = rrwebRecord.record({
      emit: guard(onEvent),
      maskAllInputs: true,
      maskTextSelector: "*",
      maskTextFn: maskText,
      maskInputFn: maskValue,
      recordCanvas: false,
      inlineImages: false,
      collectFonts: false,
      slimDOMOptions: "all", // no scripts, comments, or head meta (descriptions, social cards)
      sampling: { scroll: 150, input: "last" },
    });
    timer = setInterval(guard(flush.bind(null, false)), FLUSH_MS);
    document.addEventListener(
      "visibilitychange",
      guard(function () {
        if (document.visibilityState === "hidden") onHidden();
        else storage(STASH_KEY, null); // still here: the outbox sends them
      })
    );
    addEventListener("pagehide", guard(onHidden));
    pump(false);
  }

  rec.flush = function () {
    try {
      return flush(true).then(null, function () {});
    } catch (err) {
      return Promise.resolve();
    }
  };
  try {
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", guard(start));
    else start();
  } catch (err) {
    /* unsupported browser: stay silent */
  }
})(rrwebRecord);
