// Progressive enhancement: a print button where JavaScript runs; without it the browser's own
// print command (Ctrl+P) does the same, and the page says so.
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
});
