// Copies the README's quick start (the Java block of its "Quick start" section) into QuickStart.java.
File readme = new File(projectRoot, 'README.md')
String text = readme.getText('UTF-8')
int section = text.indexOf('\n## Quick start')
assert section >= 0: "README.md has no '## Quick start' section"
int start = text.indexOf('```java\n', section)
assert start >= 0: "README.md's quick start has no Java block"
start += '```java\n'.length()
int end = text.indexOf('\n```', start)
String snippet = text.substring(start, end)

File source = new File(basedir, 'src/main/java/com/example/quickstart/QuickStart.java')
String marker = '        // README quick start\n'
String harness = source.getText('UTF-8')
assert harness.contains(marker)
String indented = snippet.readLines().collect { it ? '        ' + it : '' }.join('\n') + '\n'
source.setText(harness.replace(marker, indented), 'UTF-8')
println "QuickStart.java runs the README's quick start:\n$snippet"
return true
