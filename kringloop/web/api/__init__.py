"""The JSON API: intake, cases, the workspace, rejections, reports, erasure, health."""
