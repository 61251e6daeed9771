// The patient's timeline (patients/patient_detail.html): after "Charger plus" (htmx
// replaces the link with the next events), the focus goes to the first event loaded, not
// back to the top of the page, so that a keyboard or screen-reader user reads on.
(() => {
  let lastBefore = null; // the last element of the timeline before the new events

  document.addEventListener("htmx:beforeRequest", (event) => {
    const link = event.detail.elt;
    if (link.matches && link.matches("[data-load-more]")) {
      lastBefore = link.previousElementSibling;
    }
  });

  document.addEventListener("htmx:afterSettle", () => {
    if (!lastBefore) return;
    const first = lastBefore.nextElementSibling;
    lastBefore = null;
    if (!first) return;
    first.setAttribute("tabindex", "-1");
    first.focus();
  });
})();
