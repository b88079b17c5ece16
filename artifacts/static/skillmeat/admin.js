// Copy controls next to short hashes: the full hash goes to the clipboard.
"use strict";
document.addEventListener("click", function (event) {
    const button = event.target.closest(".copy-hash");
    if (!button) return;
    event.preventDefault();
    const value = button.dataset.hash;
    const done = function () {
        button.classList.add("copied");
        button.textContent = "copied";
        setTimeout(function () { button.classList.remove("copied"); button.textContent = "copy"; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(value).then(done);
        return;
    }
    const field = document.createElement("textarea");
    field.value = value;
    field.setAttribute("readonly", "");
    field.style.position = "absolute";
    field.style.left = "-9999px";
    document.body.appendChild(field);
    field.select();
    document.execCommand("copy");
    document.body.removeChild(field);
    done();
});
