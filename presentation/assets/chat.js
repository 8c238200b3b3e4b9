// The built-in web chat page: keeps the visitor token, shows the history and pushed messages,
// a reply growing as the model writes it, sends messages, shows typing, and reconnects with
// backoff. Frames are those of DESIGN.md and /asyncapi.json.
"use strict";
(function () {
  const botId = document.body.dataset.botId;
  const tokenKey = "switchboard.visitor-token." + botId;
  // Where pages before visitor tokens kept the bare visitor id: sent once, to be given a token.
  const legacyKey = "switchboard.visitor." + botId;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const tokenShape = /^[A-Za-z0-9._-]{1,256}$/;
  // Close codes (docs): the visitor was refused, or too many sockets are open.
  const CLOSE_VISITOR_REFUSED = 4401;
  const CLOSE_TOO_MANY_SOCKETS = 4429;
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const typing = document.getElementById("typing");
  const error = document.getElementById("error");
  const shown = new Set();
  // The replies being written, by the message they answer: their list items.
  const drafts = new Map();
  let socket = null;
  let attempt = 0;
  let typingTimer = null;

  function stored(key, shape) {
    try {
      const value = window.localStorage.getItem(key);
      return value && shape.test(value) ? value : null;
    } catch (_) {
      return null;
    }
  }

  function keepVisitorToken(token) {
    try {
      window.localStorage.setItem(tokenKey, token);
      window.localStorage.removeItem(legacyKey);
    } catch (_) { /* private mode */ }
  }

  // The server refused who we said we were: start afresh as a new visitor.
  function forgetVisitor() {
    try {
      window.localStorage.removeItem(tokenKey);
      window.localStorage.removeItem(legacyKey);
    } catch (_) { /* private mode */ }
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const token = stored(tokenKey, tokenShape);
    const legacyId = token ? null : stored(legacyKey, uuid);
    const query = token ? "?visitor_token=" + encodeURIComponent(token)
      : legacyId ? "?visitor_id=" + encodeURIComponent(legacyId) : "";
    return scheme + "//" + window.location.host + "/ws/chat/" + encodeURIComponent(botId) + query;
  }

  function setTyping(on) {
    typing.hidden = !on;
    window.clearTimeout(typingTimer);
    if (on) typingTimer = window.setTimeout(function () { typing.hidden = true; }, 30000);
  }

  function bubble(direction, text) {
    const item = document.createElement("li");
    item.className = "message message--" + direction;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = direction === "inbound" ? "You: " : "Assistant: ";
    item.appendChild(who);
    item.appendChild(document.createTextNode(text));
    return item;
  }

  function show(message) {
    if (!message || shown.has(message.id)) return;
    shown.add(message.id);
    const item = bubble(message.direction, message.text);
    item.dataset.messageId = message.id;
    const draft = message.reply_to && drafts.get(message.reply_to);
    if (draft) {
      // The reply as stored replaces the pieces shown while it was written.
      draft.replaceWith(item);
      drafts.delete(message.reply_to);
    } else {
      log.appendChild(item);
    }
    log.scrollTop = log.scrollHeight;
    if (message.direction === "outbound") setTyping(false);
  }

  // A piece of the reply to `replyTo`, appended to its draft (started on the first piece).
  function grow(replyTo, delta) {
    let draft = drafts.get(replyTo);
    if (!draft) {
      draft = bubble("outbound", "");
      draft.classList.add("message--draft");
      draft.dataset.replyTo = replyTo;
      drafts.set(replyTo, draft);
      log.appendChild(draft);
    }
    draft.lastChild.textContent += delta;
    log.scrollTop = log.scrollHeight;
  }

  // The reply to `replyTo` is being written again: its draft starts empty.
  function restart(replyTo) {
    const draft = drafts.get(replyTo);
    if (draft) draft.lastChild.textContent = "";
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
  }

  function onFrame(event) {
    let frame;
    try { frame = JSON.parse(event.data); } catch (_) { return; }
    switch (frame.type) {
      case "hello":
        if (frame.visitor_token) keepVisitorToken(frame.visitor_token);
        (frame.history || []).forEach(show);
        break;
      case "message":
        show(frame.message);
        break;
      case "typing":
        setTyping(true);
        break;
      case "reply_delta":
        grow(frame.reply_to, frame.delta || "");
        break;
      case "reply_restart":
        restart(frame.reply_to);
        break;
      case "error":
        showError(frame.detail || frame.code);
        break;
    }
  }

  function connected(on) {
    send.disabled = !on;
    status.textContent = on ? "Connected" : "Reconnecting…";
  }

  function connect() {
    socket = new WebSocket(socketUrl());
    socket.addEventListener("open", function () { attempt = 0; connected(true); showError(""); });
    socket.addEventListener("message", onFrame);
    socket.addEventListener("close", function (event) {
      connected(false);
      if (event.code === CLOSE_VISITOR_REFUSED) {
        forgetVisitor();
        attempt = 0;
      } else if (event.code === CLOSE_TOO_MANY_SOCKETS) {
        // Another tab holds the chat: wait the longest.
        attempt = Math.max(attempt, 6);
      }
      // Exponential backoff with jitter, capped at 30 s.
      const delay = Math.min(30000, 500 * Math.pow(2, attempt)) * (0.5 + Math.random() / 2);
      attempt += 1;
      window.setTimeout(connect, delay);
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    const clientId = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID() : String(Date.now());
    socket.send(JSON.stringify({ type: "message", text: text, client_id: clientId }));
    input.value = "";
    showError("");
    input.focus();
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  connected(false);
  status.textContent = "Connecting…";
  connect();
})();
