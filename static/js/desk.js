// Keyboard shortcuts of the desk: "/" focuses the search box of the page.
document.addEventListener("keydown", (event) => {
  const target = event.target;
  const typing = target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
  if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
  const box = document.querySelector(`[data-hotkey="${event.key}"]`);
  if (box) {
    event.preventDefault();
    box.focus();
  }
});
