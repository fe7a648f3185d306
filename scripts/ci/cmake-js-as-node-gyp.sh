#!/bin/sh
# prebuildify only knows how to spawn node-gyp; this stands in for it and runs cmake-js instead
# (the node-gyp arguments prebuildify passes are ignored; CMAKE_JS_ARGS adds options).
exec npx cmake-js rebuild $CMAKE_JS_ARGS
