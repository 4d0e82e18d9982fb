# cmake/man.cmake: man pages from --help, run at build time (cmake -P):
#   cmake -DALQ_EXE=build/alq -DHELP2MAN=/usr/bin/help2man -DVERSION=0.1.0 -DOUT=build/man -P cmake/man.cmake
# Writes OUT/alq.1 and OUT/alq-COMMAND.1 for every command `alq --help` lists,
# so a new subcommand gets its page without a change here.  help2man is given
# the version (--version-string) and runs only `--help`.
foreach(v ALQ_EXE HELP2MAN VERSION OUT)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "man.cmake: -D${v}= is required")
  endif()
endforeach()

execute_process(COMMAND ${ALQ_EXE} --help OUTPUT_VARIABLE help RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "man.cmake: ${ALQ_EXE} --help exited ${rc}")
endif()
# The command table: the lines "  NAME  summary" between "commands:" and the next blank line.
string(REGEX REPLACE ".*\ncommands:\n" "" table "${help}")
string(REGEX REPLACE "\n\n.*" "" table "${table}")
string(REPLACE ";" "," table "${table}") # a CMake list separator; a comma reads the same
string(REPLACE "\n" ";" lines "${table}")

function(alq_help2man program name out include)
  execute_process(COMMAND ${HELP2MAN} --no-info --no-discard-stderr --version-string=${VERSION}
                          --name=${name} --section=1 --source=alq --manual=alq --include=${include}
                          --output=${out} ${program}
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man.cmake: help2man ${program}: ${err}")
  endif()
endfunction()

file(REMOVE_RECURSE ${OUT})
file(MAKE_DIRECTORY ${OUT}/wrap)
file(WRITE ${OUT}/see-also-cmd.h2m "[SEE ALSO]\n.BR alq (1)\n")
set(see_also "")
foreach(line IN LISTS lines)
  if(NOT line MATCHES "^  ([a-z][a-z0-9-]*) +(.+)$")
    message(FATAL_ERROR "man.cmake: cannot read the command line '${line}' of alq --help")
  endif()
  set(cmd ${CMAKE_MATCH_1})
  # help2man names the page after the program it runs: a wrapper alq-CMD runs `alq CMD`.
  file(WRITE ${OUT}/wrap/alq-${cmd} "#!/bin/sh\nexec '${ALQ_EXE}' ${cmd} \"$@\"\n")
  file(CHMOD ${OUT}/wrap/alq-${cmd} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)
  alq_help2man(${OUT}/wrap/alq-${cmd} "${CMAKE_MATCH_2}" ${OUT}/alq-${cmd}.1 ${OUT}/see-also-cmd.h2m)
  string(APPEND see_also ".BR alq\\-${cmd} (1),\n")
endforeach()
file(WRITE ${OUT}/see-also-alq.h2m "[SEE ALSO]\n${see_also}.PP\nThe documentation in the alq sources: README.md and docs/.\n")
alq_help2man(${ALQ_EXE} "active-learning batch selection for huge pools, as one MPI job"
             ${OUT}/alq.1 ${OUT}/see-also-alq.h2m)
file(REMOVE_RECURSE ${OUT}/wrap)
file(REMOVE ${OUT}/see-also-alq.h2m ${OUT}/see-also-cmd.h2m)
