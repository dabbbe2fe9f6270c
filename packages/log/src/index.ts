export { type Announcement, announce } from "./announce.js";
export { jsonLog, LOG_LEVELS, type Log, type LogEntry, type LogLevel, silentLog } from "./log.js";
