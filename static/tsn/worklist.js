// Keyboard use of the worklist: j/k move between rows, Enter opens the row's link,
// x ticks the row's alert, / goes to the filters. Inactive while typing in a field.
(function () {
  "use strict";
  const rows = () => Array.from(document.querySelectorAll("[data-worklist-item]"));

  function move(step) {
    const all = rows();
    if (all.length === 0) return;
    const index = all.indexOf(document.activeElement);
    const next = index === -1 ? 0 : Math.min(Math.max(index + step, 0), all.length - 1);
    all[next].focus();
  }

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    if (target.closest("input, textarea, select, [contenteditable]")) return;
    const row = target.closest("[data-worklist-item]");
    if (event.key === "j") {
      move(1);
    } else if (event.key === "k") {
      move(-1);
    } else if (event.key === "Enter" && target === row) {
      // (On a link of the row, Enter follows that link: the patient's, say.)
      const link = row.querySelector("[data-worklist-open]");
      if (link) link.click();
    } else if (event.key === "x" && row) {
      const box = row.querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (event.key === "/") {
      const filters = document.querySelector("[data-worklist-filters] select, [data-worklist-filters] input");
      if (filters) filters.focus();
    } else {
      return;
    }
    event.preventDefault();
  });
})();
