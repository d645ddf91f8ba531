// Resolved from /opt/nodejs/node_modules, where the greeting-lib layer is extracted.
const { greet } = require("greeting");

exports.handler = async (event) => ({ message: greet((event && event.name) || "world") });
