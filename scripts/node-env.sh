# Sourced by the project's scripts: puts a Node.js >= 22 first on PATH. It prefers the one
# scripts/setup-host.sh installs beside the system's node, and leaves PATH alone otherwise.
ckpt_node_home=${CKPT_PREFIX:-/usr/local}/lib/ckpt/node
if [ -x "$ckpt_node_home/bin/node" ]; then
  PATH=$ckpt_node_home/bin:$PATH
  export PATH
fi
unset ckpt_node_home
