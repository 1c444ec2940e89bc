import type { CollectionDto } from '@sigil/client';
import { client } from '../client';
import { useAsync } from '../ui/async';
import { ErrorMessage } from '../ui/error-message';

/** The editor is loaded on first use: the other screens' first load does not carry it. */
const loadEditor = () => import('../collection/editor');

/** A collection's definition (`name` null: a new one), edited in collection/editor.tsx. */
export function CollectionScreen({ name }: { name: string | null }) {
  const loaded = useAsync(async () => {
    const [editor, collection] = await Promise.all([loadEditor(), name === null ? Promise.resolve<CollectionDto | null>(null) : client.collections.get(name)]);
    return { Editor: editor.CollectionEditor, collection };
  }, [name]);
  if (loaded.error) return <ErrorMessage error={loaded.error} />;
  if (loaded.data === undefined) return <p aria-busy="true">Loading…</p>;
  const { Editor, collection } = loaded.data;
  return <Editor collection={collection} />;
}
