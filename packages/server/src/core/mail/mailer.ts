export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Sends mail. Rejects when the message could not be handed over. */
export interface Mailer {
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}
