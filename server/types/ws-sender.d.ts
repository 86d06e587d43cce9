/**
 * ws exports its Sender (`import { Sender } from "ws"`), but @types/ws does not declare it. Only the
 * static frame() is used: RFC 6455 framing done by ws itself (lib/sender.js).
 */
import "ws";

declare module "ws" {
  export const Sender: {
    frame(data: Buffer, options: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[];
  };
}
