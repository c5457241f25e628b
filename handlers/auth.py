"""Runbook 4: User authentication issues."""

from bot.probes.specs import Check, StatusPage
from handlers.scenario import Scenario, steps

SCENARIO = Scenario(
    key="auth",
    title="User authentication issues",
    runbook_section="4. User Authentication Issues",
    symptoms="Users cannot log in, JWT errors",
    keywords={
        "login": 3,
        "logins": 3,
        "log in": 3,
        "log-in": 3,
        "sign in": 3,
        "signin": 3,
        "sign-in": 3,
        "jwt": 3,
        "auth": 3,
        "authentication": 3,
        "session": 2,
        "sessions": 2,
        "password": 2,
        "passwords": 2,
        "logged out": 3,
        "401": 2,
        "otp": 2,
        "magic link": 3,
        "sso": 3,
        "oauth": 3,
        "signup": 2,
        "sign up": 2,
        "token expired": 3,
        "locked out": 3,
        "lockout": 3,
        "account locked": 3,
    },
    investigation=steps(
        "i",
        "Check auth logs (Cloud → Authentication → Logs)",
        "Verify the JWT secret is set (Cloud → Settings)",
        "Check the user's status (Authentication → Users)",
    ),
    resolution=steps(
        "r",
        "Clear the user's sessions (auth.sessions)",
        "Verify the user's email (auth.users.email_confirmed_at)",
        "Trigger a password reset",
    ),
    probes=(Check.APP, StatusPage("supabase"), Check.SENTRY_ISSUES, Check.DB_CONNECTIONS),
)
