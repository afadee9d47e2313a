/**
 * The controls the status page offers (pause, resume, emergency stop) and what each sends to the
 * operator. Selling on a stop needs a single-use confirmation nonce and is not offered yet.
 */

import type { OperatorCommand } from "../engine/mod.ts";
import { type Lang, messagesOf } from "./i18n.ts";

/** A control's name in URLs and JSON. */
export type ControlName = "pause" | "resume" | "stop";

/** Every control, in the order the page shows them. */
export const CONTROLS: readonly ControlName[] = ["pause", "resume", "stop"];

/** What a control does, for its button and its confirmation. */
export interface ControlText {
  readonly button: string;
  readonly question: string;
  readonly effect: string;
  readonly confirm: string;
  readonly danger: boolean;
}

/** The texts of a control in `lang` (the message tables of `i18n.ts`). */
export function controlText(lang: Lang, name: ControlName): ControlText {
  const t = messagesOf(lang);
  return {
    button: t(`control.${name}.button`),
    question: t(`control.${name}.question`),
    effect: t(`control.${name}.effect`),
    confirm: t(`control.${name}.confirm`),
    danger: name === "stop",
  };
}

/** The texts of each control in English. */
export const CONTROL_TEXT: Readonly<Record<ControlName, ControlText>> = {
  pause: controlText("en", "pause"),
  resume: controlText("en", "resume"),
  stop: controlText("en", "stop"),
};

/** Whether `name` is a control. */
export function isControl(name: string): name is ControlName {
  return (CONTROLS as readonly string[]).includes(name);
}

/** The operator command of a control. */
export function commandOf(name: ControlName): OperatorCommand {
  switch (name) {
    case "pause":
      return { kind: "pause", reason: "paused from the status page" };
    case "resume":
      return { kind: "resume" };
    case "stop":
      return { kind: "stop", sell: false };
  }
}
