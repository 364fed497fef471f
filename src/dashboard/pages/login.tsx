/** `next`: the dashboard page to go back to once signed in; `notice`: why the sign-in was asked for, kept if it is refused. */
export function Login({ next, notice }: { next: string | null; notice: "unsaved" | null }) {
  return (
    <form method="post" action="/dashboard/login" class="card stack narrow" aria-label="Sign in">
      {next ? <input type="hidden" name="next" value={next} /> : null}
      {notice ? <input type="hidden" name="notice" value={notice} /> : null}
      <p>Sign in with an API token: the admin token, or a scoped token. You see and do only what its scopes allow.</p>
      <label>
        API token
        <input name="token" type="password" required autocomplete="current-password" autofocus />
      </label>
      <div>
        <button type="submit">Sign in</button>
      </div>
    </form>
  );
}
