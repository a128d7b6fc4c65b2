export { fetchEventSource, EventStreamContentType } from './fetch';
