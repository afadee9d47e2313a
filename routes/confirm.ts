/** The confirmation pages' form: an action that asked first runs only on `confirm=yes`. */

import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";

const CONFIRM_FORM = z.object({ confirm: z.literal("yes") });

/** Throws a 400 unless the posted form says `confirm=yes` (sent by a confirmation page). */
export async function requireConfirmation(c: Context): Promise<void> {
  if (!CONFIRM_FORM.safeParse(await c.req.parseBody()).success) {
    throw new HTTPException(400, { message: "confirm: must be yes (use the confirmation page)" });
  }
}
