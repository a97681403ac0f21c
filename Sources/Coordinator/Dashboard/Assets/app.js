// Small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", () => {
  // The maintenance page tries again by itself (the link does the same by hand).
  const reload = document.querySelector("[data-reload-after]");
  if (reload) setTimeout(() => location.reload(), Number(reload.dataset.reloadAfter) * 1000);
  const toggle = document.querySelector(".menu-toggle");
  const sidebar = document.getElementById("sidebar");
  if (toggle && sidebar) {
    const close = () => {
      sidebar.classList.remove("open");
      toggle.setAttribute("aria-expanded", "false");
    };
    toggle.addEventListener("click", () => {
      const open = sidebar.classList.toggle("open");
      toggle.setAttribute("aria-expanded", String(open));
      if (open) sidebar.querySelector("a")?.focus();
    });
    // Escape closes the menu and gives focus back to its button.
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && sidebar.classList.contains("open")) {
        close();
        toggle.focus();
      }
    });
  }
  // After a failed post the error summary takes focus, and the field it names is marked invalid
  // and described by the message (WCAG 3.3.1).
  const summary = document.getElementById("error-summary");
  if (summary) {
    const field = summary.dataset.field && document.querySelector(`main [name="${CSS.escape(summary.dataset.field)}"]:not([type=hidden])`);
    if (field) {
      field.setAttribute("aria-invalid", "true");
      const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      field.setAttribute("aria-describedby", [...described, "error-message"].join(" "));
      if (!field.id) field.id = `field-${summary.dataset.field}`;
      const message = document.getElementById("error-message");
      const link = document.createElement("a");
      link.href = `#${field.id}`;
      link.textContent = message.textContent;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        field.focus();
      });
      message.replaceChildren(link);
    }
    summary.focus();
  }
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });
  document.querySelectorAll("button[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const target = document.querySelector(button.dataset.copy);
      if (!target || !navigator.clipboard) return;
      await navigator.clipboard.writeText(target.textContent.trim());
      button.textContent = "Copied";
    });
  });
});

// Image CDN: the URL and the preview follow the builder's fields as they change.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("image-builder");
  if (!form) return;
  const preview = document.getElementById("image-preview");
  const link = document.getElementById("image-link");
  const pathLink = document.getElementById("image-path-link");
  const meta = document.getElementById("image-meta");
  const result = document.getElementById("result");
  const describe = async () => {
    if (!preview.getAttribute("src")) return;
    try {
      const response = await fetch(preview.src);
      const size = (await response.blob()).size;
      meta.textContent = response.ok
        ? `${preview.naturalWidth}×${preview.naturalHeight} px · ${response.headers.get("Content-Type")} · ${(size / 1024).toFixed(1)} KB`
        : `Error ${response.status}`;
    } catch (error) {
      meta.textContent = "The preview could not be loaded.";
    }
  };
  preview.addEventListener("load", describe);
  preview.addEventListener("error", describe);
  let timer;
  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      if (!form.checkValidity()) return;
      const params = new URLSearchParams();
      const options = [];
      for (const name of ["url", "w", "h", "f", "q", "fit"]) {
        const value = form.elements[name].value.trim();
        if (!value) continue;
        params.set(name, value);
        if (name !== "url") options.push(`${name}=${value}`);
      }
      const url = form.dataset.endpoint + "?" + params.toString();
      link.textContent = url;
      pathLink.textContent = form.dataset.endpoint + options.join(",") + "/" + params.get("url");
      result.hidden = false;
      meta.textContent = "Loading…";
      preview.src = url;
    }, 400);
  });
});

// DDoS Protection: the domain picker submits itself; live figures refresh every 5 seconds.
document.addEventListener("DOMContentLoaded", () => {
  const picker = document.getElementById("ddos-domain");
  if (picker) picker.addEventListener("change", () => picker.form.submit());
  const live = document.getElementById("ddos-live");
  if (!live) return;
  const scope = live.dataset.scope ? "?domain_id=" + encodeURIComponent(live.dataset.scope) : "";
  const refresh = async () => {
    try {
      const response = await fetch("/dashboard/ddos/live.json" + scope, { credentials: "same-origin" });
      if (!response.ok) return;
      const figures = await response.json();
      document.getElementById("live-rps").textContent = figures.requests_per_second.toFixed(1);
      const score = document.getElementById("threat-score");
      score.textContent = figures.threat_score;
      score.className = figures.threat_score >= 60 ? "threat-high" : figures.threat_score >= 25 ? "threat-medium" : "threat-low";
      live.dataset.updated = figures.at;
    } catch (error) {
      // The next tick tries again.
    }
  };
  setInterval(refresh, 5000);
  refresh();
});
