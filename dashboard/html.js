// Components are written with htm's tagged templates over Preact: no compiler, no build step.
import { h } from "preact";
import htm from "htm";

export const html = htm.bind(h);
