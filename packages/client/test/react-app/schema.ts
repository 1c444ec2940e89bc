/** The app's collection and what the page reports: shared by main.tsx and the test. */
export interface Schema {
  items: {
    record: { title: string; rank: number; group: string };
    create: { title: string; rank: number; group: string };
    update: { title?: string; rank?: number; group?: string };
    expand: Record<string, never>;
  };
}

/** `window.sigilApp`. */
export interface AppHandle {
  /** Runs of the list's mount effect (StrictMode runs it twice on mount). */
  listMounts: number;
  listUnmounts: number;
  /** GET requests listing `items` (each start of a live query lists). */
  listRequests: number;
  unmount(): void;
}
