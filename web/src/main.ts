// The workbench dashboard: <wirelab-app> in index.html is defined here.
import "./app/wirelab-app.js";
