// The token of an HTTP Basic Authorization header: base64 of "user:password" as UTF-8 (RFC 7617's
// charset). btoa alone throws on any character past Latin-1, which would turn a stored key into a
// crash of every request instead of the site's own answer to it.
export function basicToken(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
