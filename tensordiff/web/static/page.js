// Typeset every element carrying LaTeX in data-tex with the vendored KaTeX. A formula
// KaTeX cannot read shows as a .katex-error element (the tests look for none).
function typeset() {
  document.querySelectorAll("[data-tex]").forEach(function (element) {
    katex.render(element.dataset.tex, element, {
      displayMode: element.tagName === "DIV",
      throwOnError: false,
    });
  });
  document.body.dataset.typeset = "done";
}
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", typeset);
} else {
  typeset();
}

// Leave empty boxes out of the address, so a shared link is only what was typed.
document.addEventListener("submit", function (event) {
  event.target.querySelectorAll("input").forEach(function (input) {
    input.disabled = input.value.trim() === "";
  });
});
