import { str } from "../../config/findings.js";
import type { GithubEventSpec } from "./schema.js";

/** Argo's GithubEventSource.GetOwnedRepositories: `repositories`, else the deprecated owner/repository. */
export function ownedRepositories(
  e: GithubEventSpec,
): Array<{ owner?: string | undefined; names?: string[] | undefined }> | undefined {
  if (Array.isArray(e.repositories) && e.repositories.length > 0) return e.repositories;
  if (str(e.owner) !== "" && str(e.repository) !== "")
    return [{ owner: e.owner, names: [e.repository as string] }];
  return undefined;
}

/** The repositories and organizations whose hook an entry manages, as logs name them. */
export function hookTargets(
  e: GithubEventSpec,
): Array<{ label: string; owner: string; repo?: string }> {
  return [
    ...(e.organizations ?? []).map((org) => ({ label: `organization ${org}`, owner: org })),
    ...(ownedRepositories(e) ?? []).flatMap((r) =>
      (r.names ?? []).map((name) => ({
        label: `repository ${r.owner ?? ""}/${name}`,
        owner: r.owner ?? "",
        repo: name,
      })),
    ),
  ];
}

/** Argo's NeedToCreateHooks: an API token or App credentials, and `webhook.url`. */
export function asksForHooks(e: GithubEventSpec): boolean {
  const creds = e.apiToken !== undefined || e.githubApp?.privateKey !== undefined;
  return creds && str(e.webhook?.url) !== "";
}
