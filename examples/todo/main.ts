import { createClient, localStorageTokenStore } from '@sigil/client';

type Todo = { title: string; done: boolean };
const client = createClient<{ todos: { record: Todo; create: Todo; update: Partial<Todo>; expand: object } }>({
  url: new URLSearchParams(location.search).get('server') ?? 'http://127.0.0.1:8090',
  tokenStore: localStorageTokenStore(), // the session survives a reload
});
const todos = client.collection('todos');
const form = (id: string) => document.querySelector<HTMLFormElement>(`form#${id}`)!;
const signIn = form('sign-in'), add = form('add');

function show(): void {
  [signIn.hidden, add.hidden] = [true, false];
  todos.live({ sort: 'createdAt' }, ({ items }) => document.querySelector('#todos')!.replaceChildren(...items.map((todo) => {
    const li = Object.assign(document.createElement('li'), { textContent: todo.title, className: todo.done ? 'done' : '' });
    li.onclick = () => todos.update(todo.id, { done: !todo.done }).catch(alert);
    return li;
  })));
}
signIn.onsubmit = (event) => {
  event.preventDefault();
  const user = Object.fromEntries(new FormData(signIn)) as { username: string; password: string };
  client.auth.login(user).catch(() => client.auth.register(user)).then(show, alert);
};
add.onsubmit = (event) => {
  event.preventDefault();
  todos.create({ title: new FormData(add).get('title') as string, done: false }).then(() => add.reset(), alert);
};
if (client.auth.session) show();
