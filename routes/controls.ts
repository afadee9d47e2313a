/**
 * The controls the status page offers (pause, resume, emergency stop) and what each sends to the
 * operator. Selling on a stop needs a single-use confirmation nonce and is not offered yet.
 */

import type { OperatorCommand } from "../engine/mod.ts";

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

/** The texts of each control. */
export const CONTROL_TEXT: Readonly<Record<ControlName, ControlText>> = {
  pause: {
    button: "Pause",
    question: "Pause the bot?",
    effect: "No new entries. Exits (stop loss, target, trailing stop) keep working.",
    confirm: "Yes, pause",
    danger: false,
  },
  resume: {
    button: "Resume",
    question: "Resume trading?",
    effect: "The safety checks run first (stored state, orders, balances); entries start again " +
      "only if they pass.",
    confirm: "Yes, resume",
    danger: false,
  },
  stop: {
    button: "Emergency stop",
    question: "Emergency stop?",
    effect: "Cancels the bot's open orders and halts ALL trading, exits included, until you " +
      "resume. Positions are kept (not sold).",
    confirm: "Yes, stop now",
    danger: true,
  },
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
