/* A job's page (an import's review or store, a PDF report): poll its state, show rows done of
   the total and the phase, and reload when it ends (the server then shows the result). */
(function () {
  "use strict";
  var page = document.getElementById("job");
  if (!page || (page.dataset.state !== "en_cola" && page.dataset.state !== "en_curso")) { return; }
  var bar = document.getElementById("job-progress");
  var count = document.getElementById("job-count");
  var message = document.getElementById("job-message");
  var queuedLong = document.getElementById("job-queued-long");
  var opened = Date.now();
  var poll = function () {
    fetch(page.dataset.stateUrl, {credentials: "same-origin"}).then(function (r) {
      return r.json();
    }).then(function (s) {
      if (s.estado === "listo" || s.estado === "fallido") { window.location.reload(); return; }
      if (s.total > 0) {
        bar.max = s.total;
        bar.value = s.hechas;
        count.textContent = s.hechas.toLocaleString("es-CL") + " de " + s.total.toLocaleString("es-CL") + " filas";
      }
      message.textContent = s.mensaje;
      // still queued after 30 s: say why it may wait (no worker running, or a busy one)
      if (queuedLong) { queuedLong.hidden = !(s.estado === "en_cola" && Date.now() - opened > 30000); }
      setTimeout(poll, 1000);
    }).catch(function () { setTimeout(poll, 3000); });
  };
  setTimeout(poll, 500);
}());
