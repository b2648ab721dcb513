/* @license Enterprise */
import { z } from 'zod';

/** A data subject is a user id as memories carry it (the same bounds as the memory routes' `user_id`). */
export const eraseSubjectSchema = z.strictObject({
  user_id: z.string().min(1).max(255),
});
export type EraseSubjectBody = z.output<typeof eraseSubjectSchema>;
