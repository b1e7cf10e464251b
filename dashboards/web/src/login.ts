/** Sign-in: what the hub says of this browser, the form, and signing out. */

export interface WhoAmI {
  signedIn: boolean;
  user: string | null;
  role: 'viewer' | 'admin' | null;
  /** The hub takes a user name and password (http.users); otherwise only a token (?token=). */
  login: boolean;
}

export async function whoAmI(url: string): Promise<WhoAmI> {
  const res = await fetch(url);
  // An older hub without /api/whoami: nothing to sign in to.
  if (!res.ok) return { signedIn: res.status !== 401, user: null, role: null, login: false };
  return (await res.json()) as WhoAmI;
}

/** The sign-in form in `view`; resolves once the hub accepted a user name and password. */
export function mountLogin(view: HTMLElement, canLogin: boolean): Promise<void> {
  const form = document.createElement('form');
  form.className = 'login';
  form.innerHTML = canLogin
    ? `<h2>Sign in</h2>
       <label>User <input name="username" autocomplete="username" required /></label>
       <label>Password <input name="password" type="password" autocomplete="current-password" required /></label>
       <button type="submit">Sign in</button>
       <p class="login-error" role="alert"></p>`
    : `<h2>Sign in</h2><p>This hub takes a token: open the dashboard as <code>/?token=&lt;http.token&gt;</code>.</p>`;
  view.replaceChildren(form);
  const error = form.querySelector<HTMLElement>('.login-error');
  return new Promise((resolve) => {
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const data = new FormData(form);
      const res = await fetch('/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: data.get('username'), password: data.get('password') }),
      }).catch(() => undefined);
      if (res?.ok) return resolve();
      if (error)
        error.textContent = res?.status === 401 ? 'Wrong user name or password.' : 'The hub did not answer.';
      form.querySelector<HTMLInputElement>('input[name="password"]')!.value = '';
    });
  });
}

export async function signOut(): Promise<void> {
  await fetch('/api/logout', { method: 'POST' }).catch(() => undefined);
}
