// Reading a whole data file, with the data pipeline's Error when it cannot be read. Kept apart from
// errors.ts because its Buffer result would pull Node's types into the public declarations.
import * as fs from 'fs';
import { badFile } from './errors';

/** The bytes of a file, or an Error naming the function and the file. */
export function readFileNamed(op: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw badFile(op, file, `cannot read: ${(e as Error).message}`, e);
  }
}
