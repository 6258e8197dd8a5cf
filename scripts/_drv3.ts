import { execFileSync } from 'node:child_process';
import { connectDatabase, disconnectDatabase } from '../src/db/connection';
(async () => {
  const h = await connectDatabase();
  const code = `
const {MongoClient}=require('mongodb');
(async()=>{const c=new MongoClient(process.argv[1]);await c.connect();const d=c.db('x');const col=d.collection('t');
for(let i=0;i<20000;i++)await col.findOne({_id:'a'+i});
await c.close();})();`;
  execFileSync('node', ['--cpu-prof', '--cpu-prof-dir=/tmp/prof2', '-e', code, h.uri], { cwd: process.cwd() });
  await disconnectDatabase();
})();
