"""A hosted platform's API, GitHub's and GitLab's: deployments (a deployment's statuses, a
workflow's runs, releases) and incidents (issues) where teams keep them.

`access` is what the command line gives (which platform, which repository, which token) and
the one call a source makes; `client` is the one HTTP session (pagination as an iterator, rate
limits waited on in one place, ETags kept in `cache`); `github` and `gitlab` ask their
endpoints; `rows` (what their answers say) and `limits` (when to wait) are pure.
"""
