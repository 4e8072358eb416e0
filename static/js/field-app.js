// Revincula on the phone (every signed-in page): the service worker, the queue of visit
// records in IndexedDB and its sync to POST /api/visitas, the logout guard, and on Mi día the
// week kept offline and the visit form.
//
// Queue rules (issue 20): a record leaves the phone only when the server's JSON answer names
// its UUID as "guardado" or "ya_estaba" (a login page, a captive portal, a redirect or an empty
// body confirm nothing); records are sent only under the account that made them; logging out
// with records still queued needs a deliberate discard; «Guardada» is shown only once the
// IndexedDB transaction has completed.
(function () {
  "use strict";
  var body = document.body;
  var USER = body.dataset.usuario || "";
  var DB_NAME = "revincula";
  var PERSONAL_CACHE = "revincula-personal";
  var CHUNK = 100;
  var DAY_MS = 86400000;

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js").catch(function () { /* no offline pages */ });
  }

  // -- IndexedDB: "cola" (records to send) and "borradores" (half-filled forms) ------------------
  var dbPromise = null;
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        if (!window.indexedDB) { reject(new Error("Este navegador no permite guardar datos.")); return; }
        var req = indexedDB.open(DB_NAME, 1);
        req.onupgradeneeded = function () {
          var db = req.result;
          if (!db.objectStoreNames.contains("cola")) { db.createObjectStore("cola", { keyPath: "uuid" }); }
          if (!db.objectStoreNames.contains("borradores")) { db.createObjectStore("borradores", { keyPath: "clave" }); }
        };
        req.onsuccess = function () { resolve(req.result); };
        req.onerror = function () { reject(req.error); };
      });
    }
    return dbPromise;
  }
  // Resolves only when the transaction has completed (the data is really written).
  function tx(store, mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var t = db.transaction(store, mode);
        var result;
        var req = work(t.objectStore(store));
        if (req) { req.onsuccess = function () { result = req.result; }; }
        t.oncomplete = function () { resolve(result); };
        t.onerror = function () { reject(t.error); };
        t.onabort = function () { reject(t.error || new Error("transacción abortada")); };
      });
    });
  }
  var queue = {
    all: function () { return tx("cola", "readonly", function (s) { return s.getAll(); }).then(function (r) { return r || []; }); },
    put: function (item) { return tx("cola", "readwrite", function (s) { return s.put(item); }); },
    remove: function (uuid) { return tx("cola", "readwrite", function (s) { return s.delete(uuid); }); },
    clear: function () { return tx("cola", "readwrite", function (s) { return s.clear(); }); }
  };
  var drafts = {
    get: function (key) { return tx("borradores", "readonly", function (s) { return s.get(key); }); },
    put: function (item) { return tx("borradores", "readwrite", function (s) { return s.put(item); }); },
    remove: function (key) { return tx("borradores", "readwrite", function (s) { return s.delete(key); }); },
    clear: function () { return tx("borradores", "readwrite", function (s) { return s.clear(); }); }
  };

  function newUuid() {  // RFC 4122 version 4 from the platform's CSPRNG (works without HTTPS)
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else if (attrs[k] !== false && attrs[k] != null) { node.setAttribute(k, attrs[k] === true ? "" : attrs[k]); }
    });
    (children || []).forEach(function (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  // -- the personal cache (the gestor's days): expiry and logout ---------------------------------
  function clearPersonal() {
    var jobs = [drafts.clear().catch(function () {})];
    if (window.caches) { jobs.push(caches.delete(PERSONAL_CACHE)); }
    return Promise.all(jobs);
  }
  function dropExpired() {
    if (!window.caches) { return Promise.resolve(); }
    return caches.open(PERSONAL_CACHE).then(function (cache) {
      return cache.keys().then(function (keys) {
        return Promise.all(keys.map(function (key) {
          return cache.match(key).then(function (hit) {
            var saved = Number(hit && hit.headers.get("X-Revincula-Guardado") || 0);
            var days = Number(hit && hit.headers.get("X-Revincula-Expira-Dias") || 8);
            if (!saved || Date.now() - saved > days * DAY_MS) { return cache.delete(key); }
            return null;
          });
        }));
      });
    });
  }
  dropExpired().catch(function () {});

  // -- sync -------------------------------------------------------------------------------------
  var state = { failures: 0, timer: null, syncing: false, message: "", login: false, others: "" };
  function schedule(ms) { clearTimeout(state.timer); state.timer = setTimeout(sync, ms); }
  function backoff(message) {
    state.failures += 1;
    var ms = Math.min(300000, 5000 * Math.pow(2, state.failures - 1)) * (0.8 + Math.random() * 0.4);
    state.message = message + " Nuevo intento en " + Math.round(ms / 1000) + " s.";
    schedule(ms);
  }
  function isJson(response) {
    return response.ok && response.type !== "opaqueredirect" && !response.redirected &&
      (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
  }
  // {usuario, csrf}, or {login: true} when the session is gone, or null (no confirmation).
  function currentSession() {
    return fetch("/api/sesion", { credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401 || r.type === "opaqueredirect") { return r.text().then(function () { return { login: true }; }); }
        if (!isJson(r)) { return r.text().then(function () { return null; }); }
        return r.json().then(function (data) {
          return data && typeof data.usuario === "string" && data.csrf ? data : null;
        }, function () { return null; });
      });
  }
  async function sendChunk(items, who) {
    var response = await fetch("/api/visitas", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": who.csrf },
      body: JSON.stringify(items.map(function (i) { return i.registro; }))
    });
    if (response.status === 400 || response.status === 401 || response.status === 403 || response.type === "opaqueredirect") {
      await response.text().catch(function () { return ""; });
      return "login";
    }
    if (!isJson(response)) { await response.text().catch(function () { return ""; }); return null; }
    var answer = await response.json().catch(function () { return null; });
    if (!answer || !Array.isArray(answer.resultados)) { return null; }
    var byUuid = {};
    answer.resultados.forEach(function (r) { if (r && typeof r.uuid === "string") { byUuid[r.uuid] = r; } });
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      var r = byUuid[item.uuid];
      if (!r) { continue; }  // not named: stays queued
      if (r.estado === "guardado" || r.estado === "ya_estaba") {
        await queue.remove(item.uuid);
      } else if (r.estado === "rechazado") {
        item.estado = "rechazado";
        item.motivo = String(r.motivo || "rechazado por el servidor");
        await queue.put(item);
      }
    }
    return answer;
  }
  async function sync() {
    if (state.syncing) { return; }
    state.syncing = true;
    clearTimeout(state.timer);
    try {
      var pending = (await queue.all()).filter(function (i) { return i.estado === "pendiente"; });
      if (!pending.length) { state.failures = 0; state.message = ""; return; }
      if (navigator.onLine === false) { state.message = "Sin conexión: se enviarán cuando vuelva la señal."; return; }
      var who = await currentSession();
      if (!who) { backoff("El servidor no respondió como se esperaba (¿red sin Internet?)."); return; }
      if (who.login) {
        state.login = true;
        state.message = "Su sesión venció: inicie sesión de nuevo. Los registros esperan en el teléfono.";
        return;
      }
      state.login = false;
      var mine = pending.filter(function (i) { return i.cuenta === who.usuario; });
      var others = pending.filter(function (i) { return i.cuenta !== who.usuario; });
      state.others = others.length ? "Hay " + others.length + " registro(s) de la cuenta «" + others[0].cuenta +
        "»: solo se envían iniciando sesión con esa cuenta." : "";
      for (var start = 0; start < mine.length; start += CHUNK) {
        var outcome = await sendChunk(mine.slice(start, start + CHUNK), who);
        if (outcome === "login") {
          state.login = true;
          state.message = "El servidor pidió iniciar sesión de nuevo. Los registros esperan en el teléfono.";
          return;
        }
        if (!outcome) { backoff("El servidor no confirmó el envío."); return; }
      }
      state.failures = 0;
      state.message = mine.length ? "Envío confirmado por el servidor." : "";
    } catch (err) {
      backoff("No se pudo enviar (" + (err && err.message || "sin conexión") + ").");
    } finally {
      state.syncing = false;
      render();
    }
  }

  // -- the queue bar ----------------------------------------------------------------------------
  var bar = document.getElementById("queue-bar");
  var logoutBlocked = 0;
  function render() {
    return queue.all().then(function (items) {
      var pending = items.filter(function (i) { return i.estado === "pendiente"; });
      var refused = items.filter(function (i) { return i.estado === "rechazado"; });
      document.querySelectorAll(".visit-record[data-caso]").forEach(function (box) {
        var mine = items.filter(function (i) { return String(i.registro.caso) === box.dataset.caso; });
        var note = box.querySelector(".queued");
        if (note) { note.textContent = mine.length ? mine.length + " registro(s) en el teléfono por enviar." : ""; }
      });
      if (!bar) { return; }
      bar.textContent = "";
      var show = pending.length || refused.length || logoutBlocked || state.login;
      bar.hidden = !show;
      if (!show) { return; }
      var line = el("p", {}, [el("strong", { id: "queue-count", text: pending.length + (pending.length === 1 ? " registro por enviar" : " registros por enviar") })]);
      if (pending.length) {
        var now = el("button", { type: "button", text: "Enviar ahora" });
        now.addEventListener("click", function () { state.failures = 0; sync(); });
        line.appendChild(document.createTextNode(" "));
        line.appendChild(now);
      }
      bar.appendChild(line);
      [state.message, state.others].forEach(function (m) { if (m) { bar.appendChild(el("p", { class: "queue-message", text: m })); } });
      if (state.login) {
        bar.appendChild(el("p", {}, [el("a", { href: "/ingresar?next=/terreno", text: "Iniciar sesión de nuevo" })]));
      }
      refused.forEach(function (item) {
        var drop = el("button", { type: "button", class: "link", text: "Descartar" });
        drop.addEventListener("click", function () {
          if (window.confirm("¿Descartar este registro rechazado? No se podrá recuperar.")) {
            queue.remove(item.uuid).then(render);
          }
        });
        bar.appendChild(el("p", { class: "queue-refused" }, [
          "Rechazado (caso " + item.registro.caso + "): " + item.motivo + " ", drop]));
      });
      if (logoutBlocked) {
        var discard = el("button", { type: "button", class: "danger", id: "discard-and-logout",
          text: "Descartar " + logoutBlocked + " registro(s) y salir" });
        discard.addEventListener("click", function () {
          if (!window.confirm("Se borrarán " + logoutBlocked + " registro(s) de visita que el servidor no tiene. ¿Descartarlos y salir?")) { return; }
          queue.clear().then(clearPersonal).then(submitLogout);
        });
        bar.appendChild(el("p", { class: "queue-message" }, [
          "No puede salir: hay " + logoutBlocked + " registro(s) sin enviar en este teléfono. Envíelos primero, o ", discard]));
      }
    }).catch(function () {});
  }

  // -- logout guard -----------------------------------------------------------------------------
  var logoutForm = document.getElementById("logout-form");
  function submitLogout() { logoutForm.dataset.confirmed = "1"; logoutForm.submit(); }
  if (logoutForm) {
    logoutForm.addEventListener("submit", function (event) {
      if (logoutForm.dataset.confirmed) { return; }
      event.preventDefault();
      queue.all().then(function (items) {
        if (items.length) { logoutBlocked = items.length; render(); if (bar) { bar.scrollIntoView(); } return null; }
        return clearPersonal().then(submitLogout);
      }, function () { clearPersonal().then(submitLogout, submitLogout); });
    });
  }

  window.addEventListener("online", function () { state.failures = 0; updateOffline(); sync(); });
  window.addEventListener("offline", function () { updateOffline(); render(); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { sync(); } });

  // -- Mi día: the week kept offline, the status line, the visit form ---------------------------
  var day = document.getElementById("terreno");
  // Offline when the browser says so or when the server cannot be reached (a page served by the
  // service worker from the phone's copy).
  function updateOffline() {
    var flag = document.getElementById("offline-flag");
    if (!flag) { return; }
    if (navigator.onLine === false) { flag.hidden = false; return; }
    fetch("/api/sesion", { credentials: "same-origin" })
      .then(function (r) { flag.hidden = r.ok || r.status === 401; return r.text(); })
      .catch(function () { flag.hidden = false; });
  }

  function keepWeek() {
    if (!day || !day.dataset.offline || !window.caches || navigator.onLine === false) { return Promise.resolve(); }
    var days = (day.dataset.dias || "").split(",").filter(Boolean);
    var urls = days.map(function (d) { return "/terreno?dia=" + d; });
    if (!new URLSearchParams(location.search).get("dia")) { urls.push("/terreno"); }
    return caches.open(PERSONAL_CACHE).then(function (cache) {
      return Promise.all(urls.map(function (path) {
        return fetch(path, { credentials: "same-origin" }).then(function (r) {
          if (!r.ok || !r.headers.get("X-Revincula-Dia")) { return r.text().then(function () { return null; }); }
          var headers = new Headers(r.headers);
          headers.set("X-Revincula-Guardado", String(Date.now()));
          return r.blob().then(function (b) {
            return cache.put(location.origin + path, new Response(b, { status: 200, headers: headers }));
          });
        }).catch(function () { return null; });
      }));
    }).then(function () { day.dataset.guardada = "1"; });
  }

  var taxonomyNode = document.getElementById("visit-taxonomy");
  var taxonomy = taxonomyNode ? JSON.parse(taxonomyNode.textContent) : null;

  function field(label, input) { return el("label", {}, [label, input]); }
  function buildForm(caso) {
    var outcomes = el("fieldset", { class: "outcomes" }, [el("legend", { text: "Resultado" })]);
    taxonomy.resultados.forEach(function (o, i) {
      outcomes.appendChild(el("label", { class: "inline" }, [
        el("input", { type: "radio", name: "resultado", value: o.clave, required: i === 0 }), " " + o.etiqueta]));
    });
    var barriers = el("fieldset", { class: "barriers" }, [el("legend", { text: "Barreras" })]);
    taxonomy.barreras.forEach(function (b) {
      barriers.appendChild(el("label", { class: "inline" }, [
        el("input", { type: "checkbox", name: "barreras", value: b.clave }), " " + b.etiqueta]));
    });
    var services = el("select", { name: "derivacion_tipo" }, [el("option", { value: "", text: "— sin derivación —" })]);
    taxonomy.servicios.forEach(function (s) { services.appendChild(el("option", { value: s.clave, text: s.etiqueta })); });
    var form = el("form", { class: "visit-form stack", hidden: true, "data-caso": caso }, [
      outcomes,
      field("Quién fue contactado", el("input", { name: "contactado", maxlength: "200" })),
      barriers,
      field("Derivación a", services),
      field("Servicio o profesional (nombre)", el("input", { name: "derivacion_nombre", maxlength: "200" })),
      field("Acuerdo", el("textarea", { name: "acuerdo", rows: "2" })),
      field("Próximo paso", el("input", { name: "proximo_paso" })),
      field("Fecha del próximo paso", el("input", { name: "fecha_proximo", type: "date" })),
      field("Nota", el("textarea", { name: "nota", rows: "2" })),
      el("label", { class: "inline" }, [el("input", { type: "checkbox", name: "gps", checked: true }), " Adjuntar mi ubicación (GPS)"]),
      el("p", {}, [el("button", { type: "submit", text: "Guardar visita" })]),
      el("p", { class: "save-status", role: "status" })
    ]);
    return form;
  }
  function formValues(form) {
    var data = new FormData(form);
    return {
      resultado: data.get("resultado") || "",
      contactado: data.get("contactado") || "",
      barreras: data.getAll("barreras"),
      derivacion_tipo: data.get("derivacion_tipo") || "",
      derivacion_nombre: data.get("derivacion_nombre") || "",
      acuerdo: data.get("acuerdo") || "",
      proximo_paso: data.get("proximo_paso") || "",
      fecha_proximo: data.get("fecha_proximo") || "",
      nota: data.get("nota") || "",
      gps: data.get("gps") === "on"
    };
  }
  function restore(form, v) {
    Array.prototype.forEach.call(form.elements, function (input) {
      if (!input.name || !(input.name in v)) { return; }
      if (input.type === "radio") { input.checked = v[input.name] === input.value; }
      else if (input.type === "checkbox") { input.checked = input.name === "gps" ? !!v.gps : v[input.name].indexOf(input.value) >= 0; }
      else { input.value = v[input.name]; }
    });
  }
  function position() {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({ lat: p.coords.latitude, lon: p.coords.longitude, precision: p.coords.accuracy });
      }, function () { resolve(null); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
  function setupVisit(box) {
    var caso = box.dataset.caso;
    var key = USER + ":" + caso;
    var open = el("button", { type: "button", class: "record-visit", text: "Registrar visita" });
    var form = buildForm(caso);
    var status = form.querySelector(".save-status");
    box.appendChild(open);
    box.appendChild(el("p", { class: "queued" }));
    box.appendChild(form);
    // «Corregir» on a record already sent: the next save is a new record naming it (never an edit).
    var corrects = null;
    var correcting = el("p", { class: "correcting", hidden: true });
    form.insertBefore(correcting, form.firstChild);
    document.querySelectorAll(".visit-done[data-corregible][data-caso='" + caso + "']").forEach(function (done) {
      var fix = el("button", { type: "button", class: "link correct-visit", text: "Corregir" });
      fix.addEventListener("click", function () {
        corrects = done.dataset.uuid;
        correcting.hidden = false;
        correcting.textContent = "Corrección: se guardará un registro nuevo que reemplaza al de " +
          done.textContent.replace("✓ Visita registrada", "").split(":")[0].trim() + " (el original queda en la historia).";
        form.hidden = false;
        form.scrollIntoView();
      });
      done.appendChild(fix);
    });
    open.addEventListener("click", function () {
      corrects = null;
      correcting.hidden = true;
      form.hidden = !form.hidden;
      if (!form.hidden) { drafts.get(key).then(function (d) { if (d) { restore(form, d.valores); } }).catch(function () {}); }
    });
    var pendingDraft = null;
    form.addEventListener("input", function () {
      clearTimeout(pendingDraft);
      pendingDraft = setTimeout(function () { drafts.put({ clave: key, valores: formValues(form) }).catch(function () {}); }, 300);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var v = formValues(form);
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      status.className = "save-status";
      status.textContent = v.gps ? "Obteniendo la ubicación…" : "Guardando…";
      (v.gps ? position() : Promise.resolve(null)).then(function (gps) {
        var uuid = newUuid();
        var registro = {
          uuid: uuid, caso: Number(caso), cuenta: USER, resultado: v.resultado, contactado: v.contactado,
          barreras: v.barreras, derivacion: v.derivacion_tipo || v.derivacion_nombre ? { tipo: v.derivacion_tipo, nombre: v.derivacion_nombre } : null,
          acuerdo: v.acuerdo, proximo_paso: v.proximo_paso, fecha_proximo: v.fecha_proximo || null, nota: v.nota,
          gps: gps, momento_dispositivo: new Date().toISOString(), corrige: corrects
        };
        return queue.put({ uuid: uuid, cuenta: USER, estado: "pendiente", motivo: "", creado: registro.momento_dispositivo, registro: registro })
          .then(function () {
            clearTimeout(pendingDraft);
            status.className = "save-status saved";
            status.textContent = "Guardada en el teléfono" + (gps ? " (con GPS ±" + Math.round(gps.precision) + " m)" : " (sin GPS)") + ". Se enviará al haber señal.";
            form.reset();
            form.hidden = true;
            corrects = null;
            correcting.hidden = true;
            box.insertBefore(status, form);
            drafts.remove(key).catch(function () {});
            render();
            sync();
          });
      }).catch(function (err) {
        status.className = "save-status error";
        status.textContent = "No se pudo guardar en el teléfono (" + (err && err.name || "error") + "): la visita NO está guardada. Libere espacio y reintente.";
      }).then(function () { button.disabled = false; });
    });
  }
  if (taxonomy && USER) {
    document.querySelectorAll(".visit-record[data-caso]").forEach(setupVisit);
  }

  window.revinculaField = { sync: sync, queue: queue, keepWeek: keepWeek, state: state };
  render();
  // Network work once the page has loaded (the page itself first on a weak signal).
  function start() { updateOffline(); sync(); keepWeek(); }
  if (document.readyState === "complete") { start(); } else { window.addEventListener("load", start); }
})();
