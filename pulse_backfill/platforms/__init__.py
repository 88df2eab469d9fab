"""A hosted platform's API, GitHub's and GitLab's: deployments (a deployment's statuses, a
workflow's runs, releases) and incidents (issues) where teams keep them.

`client` is the one HTTP session (pagination as an iterator, rate limits waited on in one
place, ETags kept in `cache`); `github` and `gitlab` ask their endpoints; `rows` (what their
answers say) and `limits` (when to wait) are pure.
"""
