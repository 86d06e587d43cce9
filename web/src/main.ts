// Placeholder until the dashboard lands: proves the build and the static serving path.
document.querySelector("wirelab-app")!.textContent = "wirelab — the dashboard is being built.";
