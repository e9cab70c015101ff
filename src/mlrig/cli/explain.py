"""Long explanations printed by ``explain`` commands."""

PROFILE_EXPLANATION = """\
Profiles
========

A profile is an isolated store of stacks, stack components and custom flavors. mlrig
creates a 'default' profile the first time it runs; every stack and component you register
goes into the active profile only.

  mlrig profile create NAME [--store-type local|sql] [--url URL]   create a profile
  mlrig profile list                                                list profiles (👉 = active)
  mlrig profile set NAME                                            activate a profile
  mlrig stack copy SRC DST --from P --to Q                          copy stacks between profiles

Which profile (and stack) is active is decided by four scopes, highest first:

  1. flag         mlrig --profile P --stack S <command>   (that one command)
  2. environment  MLRIG_ACTIVE_PROFILE / MLRIG_ACTIVE_STACK  (this shell:
                  eval "$(mlrig profile use --shell P)")
  3. repository   .mlrig/config.yaml of the nearest directory made with 'mlrig init'
  4. global       the config.yaml in the mlrig config directory

'profile set' and 'stack set' write the narrowest persistent scope: the repository when you
are inside one, else the global configuration ('--global' forces the latter). Every command
says which scope chose the profile ("Running with active profile: 'p' (global)");
'mlrig status' shows both choices, the file that made them and what they override.
A scope naming a profile or stack that does not exist is an error, never a silent fallback.
"""
