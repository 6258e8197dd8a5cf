import { execFileSync } from 'node:child_process';
import { connectDatabase, disconnectDatabase } from '../src/db/connection';
(async () => {
  const h = await connectDatabase();
  const code = `
const {MongoClient}=require('mongodb');
(async()=>{const c=new MongoClient(process.argv[1]);await c.connect();const d=c.db('x');const col=d.collection('t');
for (const [label,fn] of [['ping',()=>d.command({ping:1})],['findOne',(i)=>col.findOne({_id:'a'+i})],['insertOne',(i)=>col.insertOne({_id:'b'+i+Math.random()})]]){
for(let i=0;i<300;i++)await fn(i);
const N=3000;const c0=process.cpuUsage();const t0=Date.now();for(let i=0;i<N;i++)await fn(i);const u=process.cpuUsage(c0);
console.log(label,'cpu',((u.user+u.system)/1000/N).toFixed(3),'user',(u.user/1000/N).toFixed(3),'wall',((Date.now()-t0)/N).toFixed(3));}
await c.close();})();`;
  console.log(execFileSync('node', ['-e', code, h.uri], { cwd: process.cwd() }).toString());
  await disconnectDatabase();
})();
