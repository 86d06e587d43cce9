/** Registers the Chart.js parts the dashboard uses (tree-shaken) and its readable defaults. */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Tooltip,
} from "chart.js";

let registered = false;

export function registerCharts(): typeof Chart {
  if (!registered) {
    Chart.register(BarController, BarElement, CategoryScale, LinearScale, LogarithmicScale, LineController, ScatterController, LineElement, PointElement, Legend, Tooltip);
    Chart.defaults.font.family = getComputedStyle(document.documentElement).fontFamily || "system-ui, sans-serif";
    Chart.defaults.font.size = 13;
    Chart.defaults.color = "#3b4252";
    Chart.defaults.animation = false;
    registered = true;
  }
  return Chart;
}
