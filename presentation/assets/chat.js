// The built-in web chat page: keeps the visitor id, shows the history and pushed messages,
// sends messages, shows typing, and reconnects with backoff. Frames are those of DESIGN.md.
"use strict";
(function () {
  const botId = document.body.dataset.botId;
  const storageKey = "switchboard.visitor." + botId;
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
  const log = document.getElementById("log");
  const form = document.getElementById("form");
  const input = document.getElementById("text");
  const send = document.getElementById("send");
  const status = document.getElementById("status");
  const typing = document.getElementById("typing");
  const error = document.getElementById("error");
  const shown = new Set();
  let socket = null;
  let attempt = 0;
  let typingTimer = null;

  function visitorId() {
    try {
      const id = window.localStorage.getItem(storageKey);
      return id && uuid.test(id) ? id : null;
    } catch (_) {
      return null;
    }
  }

  function keepVisitorId(id) {
    try { window.localStorage.setItem(storageKey, id); } catch (_) { /* private mode */ }
  }

  function socketUrl() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    const id = visitorId();
    const query = id ? "?visitor_id=" + encodeURIComponent(id) : "";
    return scheme + "//" + window.location.host + "/ws/chat/" + encodeURIComponent(botId) + query;
  }

  function setTyping(on) {
    typing.hidden = !on;
    window.clearTimeout(typingTimer);
    if (on) typingTimer = window.setTimeout(function () { typing.hidden = true; }, 30000);
  }

  function show(message) {
    if (!message || shown.has(message.id)) return;
    shown.add(message.id);
    const item = document.createElement("li");
    item.className = "message message--" + message.direction;
    item.dataset.messageId = message.id;
    const who = document.createElement("span");
    who.className = "visually-hidden";
    who.textContent = message.direction === "inbound" ? "You: " : "Assistant: ";
    item.appendChild(who);
    item.appendChild(document.createTextNode(message.text));
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
    if (message.direction === "outbound") setTyping(false);
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
        keepVisitorId(frame.visitor_id);
        (frame.history || []).forEach(show);
        break;
      case "message":
        show(frame.message);
        break;
      case "typing":
        setTyping(true);
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
    socket.addEventListener("close", function () {
      connected(false);
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
